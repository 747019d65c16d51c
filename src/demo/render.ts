/** How `portal-sync demo` prints: plain text for a person, or JSON lines (`--json`) for scripts and CI. */
import type { DemoStep } from './script.js';
import type { PortalSummary } from './summary.js';

interface DemoIntro {
  daemonUrl: string;
  redis: string;
  /** REDIS_PREFIX of this run: other commands (inspect, status, report) read the demo's data with it. */
  prefix: string;
  stripe: string;
  zendesk: string;
  salesforce: string;
  zendeskFieldsCreated: number;
  /** Ann's help center billing page (the Help Center kit on the Zendesk stand-in), through its sign-in. */
  helpCenter: string;
}

interface DemoDashboard {
  url: string;
  loginUrl: string;
  adminToken: string;
  /** What GET /admin answered with the token, checked by the demo itself. */
  status: number;
}

/** How to point the CLI at this demo from another shell. */
interface DemoCli {
  /** `export NAME='value'` lines. */
  exports: string[];
  /** Commands to try first. */
  commands: string[];
  /** Where `--write-env` wrote the export lines, if it was given. */
  writeEnv: string | null;
}

export interface DemoPrinter {
  notice(message: string): void;
  intro(intro: DemoIntro): void;
  step(step: DemoStep): void;
  summary(summary: PortalSummary): void;
  dashboard(dashboard: DemoDashboard, staysUp: boolean): void;
  cli(cli: DemoCli): void;
  stopped(reason: string): void;
}

type Write = (text: string) => void;

export function jsonPrinter(out: Write, err: Write): DemoPrinter {
  const line = (type: string, body: object) => out(`${JSON.stringify({ type, ...body })}\n`);
  return {
    notice: (message) => err(`portal-sync demo: ${message}\n`),
    intro: (intro) => line('environment', intro),
    step: (step) => line('step', step),
    summary: (summary) => line('summary', summary),
    dashboard: (dashboard) => line('dashboard', dashboard),
    cli: (cli) => line('cli', cli),
    stopped: (reason) => line('stopped', { reason }),
  };
}

const ACTORS: Record<DemoStep['actor'], string> = {
  salesforce: 'Salesforce',
  stripe: 'Stripe',
  zendesk: 'Zendesk',
  portal: 'Portal',
  'portal-sync': 'portal-sync',
};

const show = (v: unknown): string =>
  v === null || v === undefined || v === '' ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
const table = (fields: Record<string, unknown>, indent: string) => {
  const width = Math.max(...Object.keys(fields).map((k) => k.length));
  return Object.entries(fields).map(([k, v]) => `${indent}${k.padEnd(width)}  ${show(v)}`);
};

export function textPrinter(out: Write): DemoPrinter {
  const print = (...lines: string[]) => out(`${lines.join('\n')}\n`);
  return {
    notice: (message) => print(`  note: ${message}`),
    intro: (i) =>
      print(
        'portal-sync demo: the daemon against local stand-ins of Stripe, Salesforce and Zendesk',
        `  daemon      ${i.daemonUrl}   (Redis ${i.redis}, REDIS_PREFIX=${i.prefix})`,
        `  Stripe      ${i.stripe}`,
        `  Zendesk     ${i.zendesk}   (setup zendesk created ${i.zendeskFieldsCreated} fields and objects)`,
        `  Salesforce  ${i.salesforce}   (the metadata package's fields are deployed)`,
        `  Help Center ${i.helpCenter}`,
        "              (Ann's billing page, the Help Center kit: open it now and watch Acme's status change)",
        '',
        'A day at Acme Logistics:',
      ),
    step: (s) =>
      print(
        `${String(s.n).padStart(3)}  ${s.at.slice(11, 19)}  ${ACTORS[s.actor].padEnd(11)} ${s.title}`,
        ...s.lines.map((l) => `${' '.repeat(27)}${l}`),
      ),
    summary: (s) => {
      const zd = s.zendesk;
      const sf = s.salesforce;
      print(
        '',
        'What reached the portals:',
        `  Zendesk organization "${zd.organization.name}" (${zd.organization.id})`,
        ...table(zd.organization.fields, '    '),
        `  Zendesk portal_invoice records (${zd.invoices.length})`,
        ...zd.invoices.map(
          (i) => `    ${show(i.number)}  ${show(i.status)}  total ${show(i.total)}  ${show(i.hostedUrl)}`,
        ),
        `  Zendesk tickets: ${zd.tickets.map((t) => `#${t.id} ${t.status}`).join(', ')}`,
        `  Zendesk profile events: ${zd.profileEvents.map((e) => `${e.type} (${show(e.category)})`).join(', ') || 'none'}`,
        '',
        `  Salesforce Account "${show(sf.account.name)}" (${sf.account.id})`,
        ...table(sf.account.fields, '    '),
        `  Portal_Invoice__c (${sf.invoices.length})`,
        ...sf.invoices.map(
          (i) => `    ${show(i.number)}  ${show(i.status)}  total ${show(i.total)}  ${show(i.hostedUrl)}`,
        ),
        `  Support_Ticket__c: ${sf.tickets.map((t) => `#${show(t.id)} ${show(t.status)} (${show(t.category)})`).join(', ') || 'none'}`,
        `  Portal_Deflection_Event__c: ${sf.deflectionEvents.map((e) => `${show(e.type)} (${show(e.category)})`).join(', ') || 'none'}`,
        '',
        `  Self-service: ${s.deflection.deflected} deflected, ${s.deflection.escalated} escalated`,
        `  Stripe, for reference: subscription ${s.stripe.subscription.status}; invoices ${s.stripe.invoices.map((i) => `${show(i.number)} ${show(i.status)}`).join(', ')}`,
      );
    },
    dashboard: (d, staysUp) =>
      print(
        '',
        `Dashboard: ${d.url}  (answered ${d.status})`,
        `  log in at ${d.loginUrl} with the token ${d.adminToken}`,
        `  or: curl -H "Authorization: Bearer ${d.adminToken}" ${d.url}`,
        staysUp ? '\nThe daemon and the stand-ins stay up until Ctrl-C.' : '',
      ),
    cli: (c) =>
      print(
        '',
        c.writeEnv
          ? `Try the CLI against this demo from another shell: \`. ${/^[/.]/.test(c.writeEnv) ? c.writeEnv : `./${c.writeEnv}`}\` (written with these lines), then:`
          : 'Try the CLI against this demo: paste these lines into another shell (or run the demo with --write-env FILE),',
        ...(c.writeEnv ? [] : c.exports.map((l) => `  ${l}`)),
        ...(c.writeEnv ? [] : ['then:']),
        ...c.commands.map((l) => `  ${l}`),
        '  (without a global install: npm run --silent portal-sync -- <command>)',
      ),
    stopped: (reason) => print(`stopped (${reason})`),
  };
}
