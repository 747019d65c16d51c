/**
 * The scripted day: one customer, Acme Logistics, through Salesforce, Stripe, Zendesk and the
 * customer portal. Every step acts on a platform stand-in (or posts what a platform would
 * post), then waits until the daemon has carried the change to both portals; two steps wait
 * for the self-service window to decide a portal session (seconds, with the demo's windows).
 */
import type { DeflectionEvent } from '../sync/deflection/types.js';
import { createDeflectionData } from '../sync/deflection/store.js';
import type { ZendeskTicket } from './standins/zendesk/index.js';
import {
  createZendeskOrganization,
  createZendeskUser,
  isoSeconds,
  sendPortalActivity,
  sendTicketEvent,
  updateZendeskTicket,
  type PortalActivity,
} from './actors.js';
import { DEMO_CONTACT_NAME, type DemoEnvironment } from './environment.js';

type DemoActor = 'salesforce' | 'stripe' | 'zendesk' | 'portal' | 'portal-sync';

export interface DemoStep {
  n: number;
  /** When the step ran (ISO). */
  at: string;
  actor: DemoActor;
  title: string;
  /** What happened, one line each (no emails, no secrets). */
  lines: string[];
}

/** The ids the summary reads the portals by. */
export interface DemoFacts {
  accountId: string;
  accountName: string;
  customerId: string;
  subscriptionId: string;
  invoiceIds: string[];
  organizationId: number;
  userId: number;
  contactEmail: string;
  ticketIds: number[];
  deflections: DeflectionEvent[];
}

export interface ScriptOptions {
  /** Pause after each step, so a person can follow (0 in CI). */
  pauseMs: number;
  /** How long to wait for a session to be decided. */
  decisionTimeoutMs?: number;
}

const TEAM_PLAN = {
  id: 'price_DemoTeamMonthly',
  nickname: 'Team (monthly)',
  product: 'prod_DemoTeam',
  unit_amount: 4900,
  currency: 'usd',
  interval: 'month' as const,
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const money = (minor: number, currency: string) => `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;

type GatheredFacts = Partial<DemoFacts> & { invoiceIds: string[]; ticketIds: number[]; deflections: DeflectionEvent[] };
type Step = (actor: DemoActor, title: string, act: () => Promise<string[]> | string[]) => Promise<void>;

/** What every act of the day shares: the stand-ins, how a step runs, how a session's decision is awaited, the facts so far. */
interface Day {
  env: DemoEnvironment;
  step: Step;
  decision: (sessionStartedAfter: number, outcome: DeflectionEvent['outcome']) => Promise<DeflectionEvent>;
  facts: GatheredFacts;
}

/** A step: act, wait until the daemon has carried the change to both portals, report it, pause for the viewer. */
function createStepRunner(env: DemoEnvironment, onStep: (step: DemoStep) => void, opts: ScriptOptions): Step {
  let n = 0;
  return async (actor, title, act) => {
    const at = new Date().toISOString();
    const lines = await act();
    await env.settle();
    onStep({ n: ++n, at, actor, title, lines });
    if (opts.pauseMs > 0) await sleep(opts.pauseMs);
  };
}

/** Waits for the self-service window to decide a session started after a time, with the outcome expected. */
function createDecisionWait(env: DemoEnvironment, opts: ScriptOptions, started: number): Day['decision'] {
  const deflectionData = createDeflectionData(env.daemon.redis, env.config.redis.prefix);
  return async (sessionStartedAfter, outcome) => {
    const end = Date.now() + (opts.decisionTimeoutMs ?? 30_000);
    while (Date.now() < end) {
      const events = await deflectionData.events(new Date(started - 3_600_000), new Date(Date.now() + 3_600_000));
      const found = events.find((e) => e.outcome === outcome && Date.parse(e.sessionStartedAt) >= sessionStartedAfter);
      if (found) return found;
      await sleep(200);
    }
    throw new Error(`no ${outcome} session was decided within ${(opts.decisionTimeoutMs ?? 30_000) / 1000} s`);
  };
}

/** One portal event of the demo contact, happening now. */
function portalActivity(
  facts: GatheredFacts,
  type: PortalActivity['type'],
  extra: Partial<PortalActivity> = {},
): PortalActivity {
  return {
    id: `demo-${Date.now()}-${type}-${Math.random().toString(36).slice(2, 8)}`,
    type,
    // Milliseconds, unlike Zendesk's whole seconds: a ticket created earlier in the same second stays earlier.
    occurred_at: new Date().toISOString(),
    contact: { email: facts.contactEmail! },
    ...extra,
  };
}

/** Acme becomes a customer on all three platforms: the Salesforce Account, the Stripe customer, the Zendesk organization. */
async function openAccount({ env, step, facts }: Day): Promise<void> {
  const { stripe, salesforce } = env;
  await step('salesforce', 'A sales rep wins Acme Logistics: the Account is created in Salesforce', () => {
    const account = salesforce.state.seedAccount({ Name: facts.accountName!, Industry: 'Transportation' });
    // Saving it in the UI fires the Outbound Message the workflow is attached to.
    salesforce.edit('Account', account.Id, { Website: 'https://acme-logistics.example' });
    facts.accountId = account.Id;
    return [`Account ${account.Id}; Salesforce sends an Outbound Message (SOAP) to /webhooks/salesforce`];
  });

  await step('stripe', 'Acme signs up: a Stripe customer that names its Account, with a card on file', () => {
    const customer = stripe.createCustomer({
      name: facts.accountName!,
      email: 'billing@acme-logistics.example',
      metadata: { salesforce_account_id: facts.accountId! },
    });
    stripe.attachPaymentMethod(customer.id, { brand: 'visa', last4: '4242', makeDefault: true });
    facts.customerId = customer.id;
    return [
      `customer ${customer.id}, metadata.salesforce_account_id = ${facts.accountId}`,
      'signed webhooks: customer.created, payment_method.attached, customer.updated',
    ];
  });

  await step(
    'zendesk',
    'Support adds Acme to Zendesk: an organization linked to the Account, and Ann, its admin',
    async () => {
      const org = await createZendeskOrganization(env, { name: facts.accountName!, external_id: facts.accountId! });
      const user = await createZendeskUser(env, {
        name: DEMO_CONTACT_NAME,
        email: facts.contactEmail!,
        organization_id: org.id,
      });
      facts.organizationId = org.id;
      facts.userId = user.id;
      return [
        `organization ${org.id} (external_id = the Account), user ${user.id}`,
        'Zendesk event webhooks: organization.created, user.created',
      ];
    },
  );
}

/** Billing: the subscription, a paid first invoice, a failed renewal (past_due). */
async function billAccount({ env, step, facts }: Day): Promise<void> {
  const { stripe } = env;
  await step('stripe', 'Acme subscribes to the Team plan for 5 seats', () => {
    const sub = stripe.createSubscription(facts.customerId!, { items: [{ price: TEAM_PLAN, quantity: 5 }] });
    facts.subscriptionId = sub.id;
    return [`subscription ${sub.id}: ${sub.status}, ${money(TEAM_PLAN.unit_amount * 5, 'usd')} a month`];
  });

  await step('stripe', 'The first invoice is paid', () => {
    const invoice = stripe.payInvoice(
      stripe.createInvoice(facts.customerId!, { subscription: facts.subscriptionId! }).id,
    );
    facts.invoiceIds.push(invoice.id);
    return [
      `invoice ${invoice.number}: ${invoice.status}, ${money(invoice.amount_paid, invoice.currency)}`,
      'webhooks: invoice.created, invoice.finalized, charge.succeeded, invoice.paid, invoice.payment_succeeded',
    ];
  });

  await step('stripe', 'A month on, the renewal payment fails: the subscription goes past_due', () => {
    const invoice = stripe.createInvoice(facts.customerId!, {
      subscription: facts.subscriptionId!,
      billing_reason: 'subscription_cycle',
    });
    const failed = stripe.failInvoicePayment(invoice.id);
    facts.invoiceIds.push(failed.id);
    return [
      `invoice ${failed.number}: ${failed.status}, ${money(failed.amount_remaining, failed.currency)} due; card declined`,
      'webhooks: invoice.payment_failed, customer.subscription.updated (past_due), customer.updated (delinquent)',
    ];
  });
}

/** Support: Ann's ticket for more seats, opened and solved. */
async function askForSeats({ env, step, facts }: Day): Promise<void> {
  let seatsTicket: ZendeskTicket | undefined;
  await step('zendesk', 'Ann opens a ticket: "Please add two more seats"', async () => {
    seatsTicket = env.zendesk.seedTicket({
      subject: 'Please add two more seats',
      description: 'We are hiring two dispatchers next week. Can you add two seats to our plan?',
      status: 'new',
      priority: 'normal',
      type: 'question',
      requester_id: facts.userId!,
      submitter_id: facts.userId!,
      organization_id: facts.organizationId!,
      created_at: isoSeconds(Date.now()),
      via: { channel: 'web_form' },
    });
    facts.ticketIds.push(seatsTicket.id);
    await sendTicketEvent(env, 'created', seatsTicket);
    return [`ticket ${seatsTicket.id} (new); Zendesk event webhook ticket.created`];
  });

  await step('zendesk', 'An agent adds the seats and solves the ticket', async () => {
    const solved = await updateZendeskTicket(env, seatsTicket!.id, { status: 'solved' });
    await sendTicketEvent(env, 'status_changed', solved, seatsTicket!.status);
    return [`ticket ${solved.id}: ${solved.status}; Zendesk event webhook ticket.status_changed`];
  });
}

/** A portal session that ends in self-service: Ann downloads her invoice, no ticket follows. */
async function selfServeInvoice({ env, step, decision, facts }: Day): Promise<void> {
  const firstSessionAt = Date.now();
  await step(
    'portal',
    'Ann searches the help center for "download invoice" and downloads her invoice herself',
    async () => {
      const invoiceId = facts.invoiceIds[0]!;
      const out = await sendPortalActivity(env, [
        portalActivity(facts, 'search', { query: 'download invoice', result_count: 3 }),
        portalActivity(facts, 'invoice_view', { invoice_id: invoiceId }),
        portalActivity(facts, 'invoice_download', { invoice_id: invoiceId }),
      ]);
      return [`${out.accepted} portal events (search, invoice_view, invoice_download), signed, to /events/portal`];
    },
  );

  await step('portal-sync', 'No ticket follows within the window: the session counts as deflected', async () => {
    const event = await decision(firstSessionAt, 'deflected');
    facts.deflections.push(event);
    return [
      `deflected, category ${event.category}; pushed as a Zendesk profile event and a Portal_Deflection_Event__c`,
    ];
  });
}

/** A portal session that ends in a ticket: a search with no results, then a ticket within the window. */
async function escalateLockout({ env, step, decision, facts }: Day): Promise<void> {
  const secondSessionAt = Date.now();
  await step('portal', 'Later, Ann searches for "reset password": no results', async () => {
    await sendPortalActivity(env, [portalActivity(facts, 'search', { query: 'reset password', result_count: 0 })]);
    return ['1 portal event (search, 0 results)'];
  });

  await step('zendesk', 'She opens a ticket: "Locked out after a password reset"', async () => {
    // Created no earlier than her search (Zendesk times have whole seconds): it escalates that session.
    const ticket = env.zendesk.seedTicket({
      subject: 'Locked out after a password reset',
      description: 'I reset my password this morning and now the portal says my account is locked.',
      status: 'new',
      priority: 'high',
      type: 'incident',
      requester_id: facts.userId!,
      submitter_id: facts.userId!,
      organization_id: facts.organizationId!,
      created_at: isoSeconds(Math.ceil(Date.now() / 1000) * 1000),
      via: { channel: 'web_form' },
    });
    facts.ticketIds.push(ticket.id);
    await sendTicketEvent(env, 'created', ticket);
    return [`ticket ${ticket.id} (new); Zendesk event webhook ticket.created`];
  });

  await step('portal-sync', 'A ticket within the window: that session counts as escalated', async () => {
    const event = await decision(secondSessionAt, 'escalated');
    facts.deflections.push(event);
    return [`escalated by ticket ${event.ticketId}, category ${event.category}; pushed to both portals`];
  });
}

export async function playScriptedDay(
  env: DemoEnvironment,
  onStep: (step: DemoStep) => void,
  opts: ScriptOptions,
): Promise<DemoFacts> {
  const decision = createDecisionWait(env, opts, Date.now());
  const facts: GatheredFacts = {
    accountName: 'Acme Logistics',
    contactEmail: 'ann.lee@acme-logistics.example',
    invoiceIds: [],
    ticketIds: [],
    deflections: [],
  };
  const day: Day = { env, step: createStepRunner(env, onStep, opts), decision, facts };
  await openAccount(day);
  await billAccount(day);
  await askForSeats(day);
  await selfServeInvoice(day);
  await escalateLockout(day);
  return facts as DemoFacts;
}
