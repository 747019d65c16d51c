/**
 * Identity adversary, against the real daemon and the Zendesk stand-in (every call recorded):
 * the attacks of issue 13 that put one company's billing into another company's organization.
 * - placeholder cross-ids: a Stripe customer whose metadata says `salesforce_account_id: "N/A"`,
 *   an organization whose `external_id` is `"N/A"` (and `0`, `TBD`, a bad Salesforce checksum…);
 * - shared emails: a consultant in one company's organization whose email is another company's
 *   Stripe billing email; the Kelvin sign spelling of an email;
 * - cross-company portal events: a signed portal event naming one company's user and another
 *   company's billing email;
 * - colliding event ids: ids that an escaping would map to one job (`X:1` and `X_1`, two ids of
 *   different CJK characters), each another company's event: both must be applied, none answered
 *   `duplicate` and lost.
 * Honest companies (metadata naming their own organization) are pushed as usual. The figure:
 * `cross-company writes` — organization fields or invoice records written to an organization of
 * another company than the data's — must be 0, and every refusal and conflict must be listed.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordStore } from '../../src/sync/events/store.js';
import { testConfig } from '../support/daemon.js';
import { announce, seedFor } from './support/env.js';
import { startFaultProxy, type ProxiedCall } from './support/fault-proxy.js';
import { startStack } from './support/stack.js';
import { startZendesk } from './support/standins.js';
import { customer, type Customer } from './support/stream.js';
import { scenario } from './support/summary.js';
import { pool, WebhookClient, type Wire } from './support/wire.js';

const SEED = seedFor(1111);
const COMPANIES = 12;
const s = scenario(
  '11-identity-adversary',
  "placeholder ids, shared emails and cross-company portal events never write one company's data into another's organization",
);
const cleanup: Array<() => Promise<unknown>> = [];
const ZD = testConfig().targets.zendesk;

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  s.save();
});

type Json = Record<string, any>;
const fixture = (path: string): Json =>
  JSON.parse(readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8')) as Json;
const wire = (kind: Wire['kind'], body: Json): Wire => ({ kind, body: JSON.stringify(body), ids: [] });
const T0 = 1_790_000_000;
/** Company n's Stripe balance: -(n+1) in major units, so a written balance names its company. */
const balanceOf = (n: number) => -(n + 1) * 100;
const invoiceId = (n: number, i: number) => `in_Adv${n}x${i}`;
const companyOfInvoice = (id: string) => Number(/^in_Adv(\d+)x/.exec(id)?.[1] ?? NaN);

function stripeCustomer(c: Customer, email: string, metadata: Record<string, string>, at: number): Wire {
  const e = fixture('stripe/customer.created.json');
  e.id = `evt_adv_cus_${c.n}_${at}`;
  e.created = at;
  Object.assign(e.data.object, {
    id: `cus_Adv${c.n}`,
    email,
    metadata,
    balance: balanceOf(c.n),
    name: `Company ${c.n}`,
  });
  return wire('stripe', e);
}
function stripeInvoice(c: Customer, i: number, email: string, metadata: Record<string, string>, at: number): Wire {
  const e = fixture('stripe/invoice.finalized.json');
  e.id = `evt_adv_in_${c.n}_${i}`;
  e.created = at;
  Object.assign(e.data.object, {
    id: invoiceId(c.n, i),
    number: `ADV-${c.n}-${i}`,
    customer: `cus_Adv${c.n}`,
    customer_email: email,
    metadata,
  });
  return wire('stripe', e);
}
function zendeskOrganization(c: Customer, externalId: string, at: number): Wire {
  const e = fixture('zendesk/organization.created.json');
  e.id = `zd-adv-org-${c.n}-${at}`;
  Object.assign(e.detail, {
    id: c.zendeskOrganizationId,
    name: c.name,
    external_id: externalId,
    updated_at: new Date(at * 1000).toISOString(),
  });
  return wire('zendesk', e);
}
function zendeskUser(id: string, c: Customer, email: string, at: number): Wire {
  const e = fixture('zendesk/user.created.json');
  e.id = `zd-adv-user-${id}-${at}`;
  Object.assign(e.detail, {
    id,
    email,
    organization_id: c.zendeskOrganizationId,
    external_id: '',
    updated_at: new Date(at * 1000).toISOString(),
  });
  return wire('zendesk', e);
}
const portalEvent = (id: string, contact: Json, at: number): Wire =>
  wire('portal', {
    id,
    type: 'invoice_view',
    occurred_at: new Date(at * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    contact,
    invoice_id: 'in_any',
  });

/**
 * The attacks (companies 0–7 in pairs: n even attacks n+1, whose records hold no Stripe customer of their
 * own, as with a company billed elsewhere — so no Stripe id of theirs clashes to protect them):
 * - 0 → 1: Stripe metadata `salesforce_account_id: "N/A"`; organization 1's external_id `N/A`;
 * - 2 → 3: metadata `TBD`; organization 3's external_id `TBD`, then one with a bad Salesforce checksum;
 * - 4 → 5: 4's billing email is that of consultants in organization 5 (other case; the Kelvin sign);
 * - 6 → 7: portal events naming 7's user and 6's billing email.
 * Company 8's metadata names organization `N/A`; companies 9–11 are honest (metadata naming their own
 * organization), so their billing and invoices are pushed and checked too.
 */
function traffic(customers: Customer[]): { companies: Wire[]; attacks: Wire[] } {
  const out: Wire[] = [];
  const attacks: Wire[] = [];
  const METADATA: Record<number, Record<string, string>> = {
    0: { salesforce_account_id: 'N/A' },
    2: { salesforce_account_id: 'TBD' },
    8: { zendesk_organization_id: 'N/A' },
  };
  for (const c of customers) {
    if (c.n < 8 && c.n % 2 === 1) {
      // A victim: its organization (and users), no Stripe customer.
      if (c.n === 1) out.push(zendeskOrganization(c, 'N/A', T0 + 100 + c.n));
      if (c.n === 3)
        out.push(
          zendeskOrganization(c, 'TBD', T0 + 100 + c.n),
          zendeskOrganization(c, `${c.salesforceAccountId.slice(0, 15)}ZZZ`, T0 + 200 + c.n),
        );
      if (c.n === 5) {
        attacks.push(zendeskUser(String(8_500_000_000 + c.n), c, `KAY${c.n - 1}@Agency.example`, T0 + 300 + c.n));
        attacks.push(zendeskUser(String(8_600_000_000 + c.n), c, `\u212Aay${c.n - 1}@agency.example`, T0 + 310 + c.n));
      }
      if (c.n === 7) {
        out.push(zendeskUser(c.zendeskUserId, c, c.email, T0 + 390 + c.n));
        const attacker = customers[c.n - 1]!;
        attacks.push(
          portalEvent(`adv-portal-${c.n}`, { zendesk_user_id: c.zendeskUserId, email: attacker.email }, T0 + 400 + c.n),
        );
        attacks.push(
          portalEvent(
            `adv-portal-rev-${c.n}`,
            { email: attacker.email, zendesk_user_id: c.zendeskUserId, salesforce_contact_id: 'N/A' },
            T0 + 410 + c.n,
          ),
        );
      }
      continue;
    }
    const email = c.n === 4 ? `kay${c.n}@agency.example` : c.email;
    const metadata = c.n >= 9 ? { zendesk_organization_id: c.zendeskOrganizationId } : (METADATA[c.n] ?? {});
    out.push(stripeCustomer(c, email, metadata, T0 + c.n));
    for (let i = 0; i < 2; i++) out.push(stripeInvoice(c, i, email, metadata, T0 + 10 + c.n * 2 + i));
  }
  return { companies: out, attacks };
}

/** The same payload under another event id. */
const withEventId = (w: Wire, id: string): Wire => ({
  ...w,
  body: JSON.stringify({ ...(JSON.parse(w.body) as Json), id }),
});

interface Collision {
  wire: Wire;
  /** The company whose record must hold the event once it is applied. */
  company: number;
  /** Whether the company's record (found by its Stripe customer) shows the event applied. */
  applied: (store: RecordStore, c: Customer) => Promise<boolean>;
}

/**
 * Pairs of event ids that differ only where an escaping into BullMQ's job ids (no `:`) or into ASCII
 * would make them one (`X:1` and `X_1`; `注文` and `請求`), sent by the honest companies 9–11, each
 * id of a pair for another company: a collision would answer the second `duplicate` and lose it.
 */
function collisions(customers: Customer[]): Collision[] {
  const [c9, c10, c11] = [customers[9]!, customers[10]!, customers[11]!];
  const recordOf = async (store: RecordStore, c: Customer) =>
    store.findByKey(`stripe:cus_Adv${c.n}`, { trusted: true });
  const invoice = (c: Customer, id: string): Collision => ({
    wire: withEventId(
      stripeInvoice(c, 2, c.email, { zendesk_organization_id: c.zendeskOrganizationId }, T0 + 900 + c.n),
      id,
    ),
    company: c.n,
    applied: async (store) => Object.hasOwn((await recordOf(store, c))?.stripe.invoices ?? {}, invoiceId(c.n, 2)),
  });
  const activity = (c: Customer, id: string): Collision => ({
    wire: portalEvent(id, { email: c.email }, T0 + 1_000 + c.n),
    company: c.n,
    applied: async (store) => (await recordOf(store, c))?.portal.lastActivityEventId === id,
  });
  const member = (c: Customer, userId: string, id: string): Collision => ({
    wire: withEventId(zendeskUser(userId, c, `member${c.n}@customer-${c.n}.example`, T0 + 1_100 + c.n), id),
    company: c.n,
    applied: async (store) => {
      const [user, own] = await Promise.all([
        store.findByKey(`zduser:${userId}`, { trusted: true }),
        recordOf(store, c),
      ]);
      return user !== null && user.id === own?.id;
    },
  });
  return [
    invoice(c9, 'evt_adv_collide:1'),
    invoice(c10, 'evt_adv_collide_1'),
    activity(c11, 'adv-portal-注文'),
    activity(c9, 'adv-portal-請求'),
    member(c10, '8700000000010', 'zd-adv-collide:2'),
    member(c11, '8700000000011', 'zd-adv-collide_2'),
  ];
}

/** Every Zendesk write whose data belongs to another company than the organization it goes to. */
function crossCompanyWrites(
  calls: ProxiedCall[],
  companyOfOrg: Map<string, number>,
): { violations: string[]; checked: number } {
  const violations: string[] = [];
  let checked = 0;
  const check = (what: string, dataCompany: number, org: unknown) => {
    checked++;
    const orgCompany = companyOfOrg.get(String(org));
    if (orgCompany === undefined || orgCompany !== dataCompany)
      violations.push(
        `${what} (company ${dataCompany}) written to organization ${String(org)} (company ${orgCompany ?? '?'})`,
      );
  };
  const byBalance = (b: unknown) => (typeof b === 'number' ? -b - 1 : NaN);
  for (const call of calls.filter((c) => c.method !== 'GET' && c.status < 400)) {
    const body = call.body ? (JSON.parse(call.body) as Json) : {};
    const path = call.path.split('?')[0]!;
    let m: RegExpExecArray | null;
    if (/\/organizations\/update_many(\.json)?$/.test(path)) {
      for (const o of body.organizations ?? [])
        if (o.organization_fields?.[ZD.fields.balance] != null)
          check('organization fields (bulk)', byBalance(o.organization_fields[ZD.fields.balance]), o.id);
    } else if ((m = /\/organizations\/(\d+)(\.json)?$/.exec(path))) {
      const b = body.organization?.organization_fields?.[ZD.fields.balance];
      if (b != null) check('organization fields', byBalance(b), m[1]);
    } else if (/custom_objects\/portal_invoice\/records/.test(path)) {
      const f = body.custom_object_record?.custom_object_fields ?? {};
      const ext = new URLSearchParams(call.path.split('?')[1] ?? '').get('external_id') ?? '';
      if (f[ZD.invoiceObject.fields.organization])
        check(`invoice ${ext}`, companyOfInvoice(ext), f[ZD.invoiceObject.fields.organization]);
    } else if (/custom_objects\/portal_invoice\/jobs/.test(path)) {
      for (const item of body.job?.items ?? []) {
        const f = item.custom_object_fields ?? {};
        if (f[ZD.invoiceObject.fields.organization])
          check(
            `invoice ${item.external_id} (bulk)`,
            companyOfInvoice(item.external_id),
            f[ZD.invoiceObject.fields.organization],
          );
      }
    }
  }
  return { violations, checked };
}

describe('identity adversary', () => {
  it('placeholder ids, shared emails, cross-company portal events and colliding event ids make no cross-company write and lose no event', async () => {
    announce('11-identity-adversary', { companies: COMPANIES, seed: SEED });
    const customers = Array.from({ length: COMPANIES }, (_, n) => customer(n));
    const zd = await startZendesk(customers);
    cleanup.push(() => zd.close());
    const door = await startFaultProxy({ upstream: zd.origin, rate: 0, kinds: ['500'], seed: SEED });
    cleanup.push(() => door.close());
    const stack = await startStack('identity-adversary', {
      env: {
        PORTAL_TARGET: 'zendesk',
        ZENDESK_BASE_URL: `${door.origin}/api/v2`,
        ZENDESK_EMAIL: zd.credentials.email,
        ZENDESK_API_TOKEN: zd.credentials.token,
      },
      tweak: (c) => {
        c.push.debounceMs = 100;
        c.targets.zendesk.rate = { max: 5_000, perMs: 10_000 };
      },
    });
    cleanup.push(() => stack.stop());

    const { companies, attacks } = traffic(customers);
    const colliding = collisions(customers);
    const wires = [...companies, ...attacks, ...colliding.map((c) => c.wire)];
    const client = new WebhookClient(stack.daemon.url, { connections: 4 });
    cleanup.push(() => client.close());
    // The companies first, then the attacks, so that each attack meets its victim's record (the other order is safe too).
    for (const phase of [companies, attacks]) {
      const outcomes = await pool(phase, 4, (w) => client.send(w));
      expect(outcomes.filter((o) => o.status !== 200).map((o) => `${o.status} ${o.text.slice(0, 120)}`)).toEqual([]);
      await stack.drain(60_000);
    }
    // Colliding-looking ids, all at once: each must be accepted as a new event, not answered as another's duplicate.
    const answers = await pool(colliding, 4, (c) => client.send(c.wire));
    expect(answers.map((a) => `${a.status} ${a.text}`)).toEqual(
      answers.map(() => expect.stringMatching(/^200 .*"accepted":1,"duplicate":0/)),
    );
    await stack.drain(60_000);

    const companyOfOrg = new Map(customers.map((c) => [c.zendeskOrganizationId, c.n]));
    const { violations, checked } = crossCompanyWrites(door.calls, companyOfOrg);
    const store = new RecordStore(stack.daemon.redis, stack.prefix);
    const lost: string[] = [];
    for (const c of colliding)
      if (!(await c.applied(store, customers[c.company]!)))
        lost.push(`${(JSON.parse(c.wire.body) as Json).id} (company ${c.company})`);
    const refused = await store.listRefusals();
    const conflicts = await store.listConflicts();
    process.stdout.write(
      `11-identity-adversary: cross-company writes: ${violations.length} (of ${checked} writes checked), refused ids: ${refused.length}, identity conflicts: ${conflicts.length}, colliding-id events lost: ${lost.length} of ${colliding.length}\n`,
    );
    s.set({
      eventsSent: wires.length,
      applied: wires.length,
      portalCalls: door.calls.length,
      leaked: violations.length,
      crossCompanyWrites: violations.length,
      seed: SEED,
    });
    s.detail('writesChecked', checked);
    s.detail('refusedIds', refused.length);
    s.detail('identityConflicts', conflicts.length);
    s.detail('violations', violations.slice(0, 10));
    s.detail('collidingIdEvents', colliding.length);
    s.detail('collidingIdEventsLost', lost);

    expect(violations).toEqual([]);
    expect(lost).toEqual([]);
    // Honest companies were pushed: their own billing reached their own organization.
    expect(checked).toBeGreaterThanOrEqual(3);
    // Every attack is visible to an admin.
    const reasons = new Set(refused.map((r) => `${r.ref}:${r.reason}`));
    for (const r of [
      'salesforceAccountId:placeholder',
      'zendeskOrganizationId:placeholder',
      'salesforceAccountId:checksum',
      'email:mismatch',
    ])
      expect(reasons, r).toContain(r);
    expect(conflicts.filter((c) => c.evidence.via.startsWith('email:')).length).toBeGreaterThan(0);
    expect(await stack.daemon.queue.getFailedCount()).toBe(0);
    s.pass();
  }, 90_000);
});
