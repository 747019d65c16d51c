/**
 * Tenant isolation.
 * 1. Property (fast-check, real Redis, events applied concurrently): whatever
 *    events arrive — drawn from a small pool of Stripe customers, Salesforce
 *    Accounts and Contacts, Zendesk organizations and users and emails, so
 *    that they collide — no record ever holds two different ids of one system,
 *    and the identity index agrees with the records both ways.
 * 2. End to end with both portals: customers whose Stripe metadata names
 *    another customer's Account and organization (identity conflicts), and
 *    every portal call checked against the records: each write goes only to
 *    an organization, user or Account linked to the record whose data it
 *    carries (invoices and tickets by their ids, account fields by a balance
 *    unique to each customer).
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { familyOf, isSystemKey, SYSTEM_FAMILIES } from '../../src/sync/events/identity.js';
import type { CustomerRecord } from '../../src/sync/events/record.js';
import { RecordStore } from '../../src/sync/events/store.js';
import {
  SourceEventSchema,
  type CustomerRefs,
  type EventData,
  type SourceEvent,
} from '../../src/sync/events/source-event.js';
import { testConfig } from '../support/daemon.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { announce, scaled, seedFor } from './support/env.js';
import { startFaultProxy, type ProxiedCall } from './support/fault-proxy.js';
import { scanKeys } from './support/records.js';
import { startStack } from './support/stack.js';
import { startSalesforce, startZendesk } from './support/standins.js';
import { customer, portalTraffic, type Customer } from './support/stream.js';
import { scenario } from './support/summary.js';
import { pool, WebhookClient } from './support/wire.js';

const RUNS = scaled(300, 30);
const CUSTOMERS = scaled(24, 8);
const PER_CUSTOMER = 12;
const SEED = seedFor(909);
const s = scenario(
  '09-tenant-isolation',
  "no record links two ids of one system; every portal call goes to the record's own ids",
);
const cleanup: Array<() => Promise<unknown>> = [];
const SF = testConfig().targets.salesforce;

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  s.save();
});

// ---- 1. the store, under any sequence of colliding events -------------------------------

const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const STRIPE = ['cus_a', 'cus_b', 'cus_c'];
const ACCOUNTS = ['001A00000000001IAA', '001B00000000002IAA', '001C00000000003IAA'];
const CONTACTS = ['003A00000000001IAA', '003B00000000002IAA'];
const ORGS = ['701', '702', '703'];
const USERS = ['801', '802', '803'];
const EMAILS = ['ann@a.example', 'bob@b.example', 'cy@c.example'];
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

function sourceEvent(n: number, version: number, objectId: string, data: EventData, refs: CustomerRefs): SourceEvent {
  const source = data.kind.slice(0, data.kind.indexOf('.')) as SourceEvent['source'];
  const clean = Object.fromEntries(Object.entries(refs).filter(([, v]) => v !== undefined)) as CustomerRefs;
  return SourceEventSchema.parse({
    v: 1,
    source,
    eventId: `iso-${n}`,
    type: `${data.kind}.updated`,
    objectId,
    version,
    origin: 'webhook',
    deleted: false,
    refs: clean,
    data,
  });
}

const eventArb = (n: number): fc.Arbitrary<SourceEvent> =>
  fc.integer({ min: 1, max: 50 }).chain((v) => {
    const version = 1_700_000_000_000 + v * 1000;
    return fc.oneof(
      fc
        .tuple(pick(STRIPE), maybe(pick(ACCOUNTS)), maybe(pick(ORGS)), maybe(pick(EMAILS)))
        .map(([cus, acct, org, email]) =>
          sourceEvent(
            n,
            version,
            cus,
            {
              kind: 'stripe.customer',
              name: null,
              email: email ?? null,
              currency: 'usd',
              balance: 0,
              delinquent: false,
              defaultPaymentMethodId: null,
              metadata: {},
            },
            { stripeCustomerId: cus, salesforceAccountId: acct, zendeskOrganizationId: org, email },
          ),
        ),
      pick(ACCOUNTS).map((acct) =>
        sourceEvent(
          n,
          version,
          acct,
          { kind: 'salesforce.account', fields: { Name: acct } },
          { salesforceAccountId: acct },
        ),
      ),
      fc
        .tuple(pick(CONTACTS), maybe(pick(ACCOUNTS)), maybe(pick(EMAILS)))
        .map(([contact, acct, email]) =>
          sourceEvent(
            n,
            version,
            contact,
            { kind: 'salesforce.contact', accountId: acct ?? null, email: email ?? null, name: null, fields: {} },
            { salesforceContactId: contact, salesforceAccountId: acct, email },
          ),
        ),
      fc
        .tuple(pick(ORGS), maybe(pick(ACCOUNTS)))
        .map(([org, acct]) =>
          sourceEvent(
            n,
            version,
            org,
            { kind: 'zendesk.organization', id: org, name: null, externalId: acct ?? null, tags: null },
            { zendeskOrganizationId: org, salesforceAccountId: acct },
          ),
        ),
      fc.tuple(pick(USERS), maybe(pick(ORGS)), maybe(pick(EMAILS))).map(([user, org, email]) =>
        sourceEvent(
          n,
          version,
          user,
          {
            kind: 'zendesk.user',
            id: user,
            name: null,
            email: email ?? null,
            externalId: null,
            organizationId: org ?? null,
            role: 'end-user',
          },
          { zendeskUserId: user, zendeskOrganizationId: org, email },
        ),
      ),
    );
  });

const streamArb = fc
  .integer({ min: 1, max: 30 })
  .chain((len) => fc.tuple(...Array.from({ length: len }, (_, i) => eventArb(i))));

interface IndexState {
  violations: string[];
  records: number;
}

/** Every identity key the property's pools can make: the index can hold no other. */
const POOL_KEYS = [
  ...STRIPE.map((v) => `stripe:${v}`),
  ...ACCOUNTS.map((v) => `sfacct:${v}`),
  ...CONTACTS.map((v) => `sfcontact:${v}`),
  ...ORGS.map((v) => `zdorg:${v}`),
  ...USERS.map((v) => `zduser:${v}`),
  ...EMAILS.map((v) => `email:${v}`),
];

/**
 * The store's keys under `prefix`, found without SCAN (the shared Redis holds other suites' keys too): the
 * identity index (`keys`, or every key when not given), the records it and the customer set name, their key sets.
 */
async function storeKeys(redis: Redis, prefix: string, keys?: readonly string[]) {
  const indexKeys = keys ? keys.map((k) => `${prefix}:idx:${k}`) : await scanKeys(redis, `${prefix}:idx:*`);
  const owners = indexKeys.length > 0 ? await redis.mget(...indexKeys) : [];
  const ids = [
    ...new Set([...(await redis.smembers(`${prefix}:customers`)), ...owners.filter((o): o is string => o !== null)]),
  ];
  const p = redis.pipeline();
  for (const id of ids) p.exists(`${prefix}:rec:${id}`).smembers(`${prefix}:rec:${id}:keys`);
  const replies = ((await p.exec()) ?? []).map(([, v]) => v);
  return {
    index: new Map(
      indexKeys
        .map((k, i) => [k.slice(`${prefix}:idx:`.length), owners[i] ?? null] as const)
        .filter(([, o]) => o !== null),
    ),
    records: ids.filter((_, i) => replies[2 * i] === 1),
    owned: new Map(ids.map((id, i) => [id, new Set(replies[2 * i + 1] as string[])])),
  };
}

async function clearPrefix(redis: Redis, prefix: string): Promise<void> {
  const { index, owned } = await storeKeys(redis, prefix, POOL_KEYS);
  const keys = [...index.keys()].map((k) => `${prefix}:idx:${k}`);
  for (const id of owned.keys())
    keys.push(`${prefix}:rec:${id}`, `${prefix}:rec:${id}:keys`, `${prefix}:rec:${id}:audit`);
  await redis.del(...keys, `${prefix}:customers`, `${prefix}:conflicts`, `${prefix}:identity:apart`);
}

/** Every record's owned keys and the identity index, read back and checked against each other. */
async function checkIndex(redis: Redis, prefix: string, keys?: readonly string[]): Promise<IndexState> {
  const violations: string[] = [];
  const { index, records, owned } = await storeKeys(redis, prefix, keys);
  for (const [id, held] of owned) {
    if (!records.includes(id) && held.size > 0) violations.push(`${id} owns keys but has no record`);
    for (const family of SYSTEM_FAMILIES) {
      const same = [...held].filter((k) => isSystemKey(k) && familyOf(k) === family);
      if (same.length > 1) violations.push(`${id} holds ${same.join(' and ')}`);
    }
    for (const k of held)
      if (index.get(k) !== id) violations.push(`${id} owns ${k} but the index points at ${index.get(k)}`);
  }
  for (const [key, owner] of index)
    if (owner === null || !owned.get(owner)?.has(key))
      violations.push(`index ${key} → ${owner}, which does not own it`);
  return { violations, records: records.length };
}

// ---- 2. the portals, call by call ---------------------------------------------------------

interface Owner {
  record: CustomerRecord;
  keys: Set<string>;
}

function violationsOf(
  calls: { zendesk: ProxiedCall[]; salesforce: ProxiedCall[] },
  owners: { byInvoice: Map<string, Owner>; byTicket: Map<string, Owner>; byStripe: Map<string, Owner> },
  customers: Customer[],
) {
  const out: string[] = [];
  let checked = 0;
  const expectOwner = (what: string, owner: Owner | undefined, key: string) => {
    checked++;
    if (!owner) out.push(`${what}: no record holds it`);
    else if (!owner.keys.has(key))
      out.push(`${what} went to ${key}, which record ${owner.record.id} (${[...owner.keys].join(', ')}) does not own`);
  };
  /** A balance of -(n+1) (major units) is customer n's alone. */
  const byBalance = (v: unknown) => {
    const n = typeof v === 'number' ? -v - 1 : -1;
    const c = customers[n];
    return c ? owners.byStripe.get(c.stripeCustomerId) : undefined;
  };
  for (const call of calls.zendesk.filter((c) => c.method !== 'GET')) {
    const body = call.body ? (JSON.parse(call.body) as Record<string, any>) : {};
    const path = call.path.split('?')[0]!;
    let m: RegExpExecArray | null;
    if (/\/(organizations|users)\/update_many(\.json)?$/.test(path)) {
      const [list, fields, family] = path.includes('/organizations/')
        ? ['organizations', 'organization_fields', 'zdorg']
        : ['users', 'user_fields', 'zduser'];
      for (const item of body[list] ?? []) {
        const balance = item[fields]?.billing_balance;
        if (balance !== undefined && balance !== null)
          expectOwner(`Zendesk ${list} fields, bulk (balance ${balance})`, byBalance(balance), `${family}:${item.id}`);
      }
    } else if ((m = /\/organizations\/(\d+)(\.json)?$/.exec(path))) {
      const balance = body.organization?.organization_fields?.billing_balance;
      if (balance !== undefined && balance !== null)
        expectOwner(`Zendesk organization fields (balance ${balance})`, byBalance(balance), `zdorg:${m[1]}`);
    } else if ((m = /\/users\/(\d+)(\.json)?$/.exec(path))) {
      const balance = body.user?.user_fields?.billing_balance;
      if (balance !== undefined && balance !== null)
        expectOwner(`Zendesk user fields (balance ${balance})`, byBalance(balance), `zduser:${m[1]}`);
    } else if (/custom_objects\/portal_invoice\/records/.test(path)) {
      const externalId = new URLSearchParams(call.path.split('?')[1] ?? '').get('external_id') ?? '';
      const f = body.custom_object_record?.custom_object_fields ?? {};
      expectOwner(
        `Zendesk invoice ${externalId}`,
        owners.byInvoice.get(externalId),
        f.organization_id ? `zdorg:${f.organization_id}` : `zduser:${f.user_id}`,
      );
    } else if (/custom_objects\/portal_invoice\/jobs/.test(path)) {
      for (const item of body.job?.items ?? []) {
        const f = item.custom_object_fields ?? {};
        expectOwner(
          `Zendesk invoice ${item.external_id} (bulk)`,
          owners.byInvoice.get(item.external_id),
          f.organization_id ? `zdorg:${f.organization_id}` : `zduser:${f.user_id}`,
        );
      }
    } else if (!/job_statuses/.test(path)) {
      out.push(`unexpected Zendesk write ${call.method} ${path}`);
    }
  }
  for (const call of calls.salesforce.filter((c) => c.method !== 'GET')) {
    const body = call.body ? (JSON.parse(call.body) as Record<string, any>) : {};
    const path = call.path.split('?')[0]!;
    let m: RegExpExecArray | null;
    if (/\/composite\/sobjects$/.test(path)) {
      for (const r of body.records ?? []) {
        const balance = r[SF.accountFields.balance];
        if (r.attributes?.type !== 'Account')
          out.push(`unexpected Salesforce collection update of ${r.attributes?.type}`);
        else if (balance !== undefined && balance !== null)
          expectOwner(`Salesforce Account fields, bulk (balance ${balance})`, byBalance(balance), `sfacct:${r.Id}`);
      }
    } else if ((m = /\/sobjects\/Account\/([A-Za-z0-9]{15,18})$/.exec(path))) {
      const balance = body[SF.accountFields.balance];
      if (balance !== undefined && balance !== null)
        expectOwner(`Salesforce Account fields (balance ${balance})`, byBalance(balance), `sfacct:${m[1]}`);
    } else if (path.includes(`/composite/sobjects/${SF.invoice.object}/`)) {
      for (const r of body.records ?? [])
        expectOwner(
          `Salesforce invoice ${r[SF.invoice.externalId]}`,
          owners.byInvoice.get(r[SF.invoice.externalId]),
          `sfacct:${r[SF.invoice.fields.account]}`,
        );
    } else if (path.includes(`/composite/sobjects/${SF.ticket.object}/`)) {
      for (const r of body.records ?? [])
        expectOwner(
          `Salesforce ticket ${r[SF.ticket.externalId]}`,
          owners.byTicket.get(String(r[SF.ticket.externalId])),
          `sfacct:${r[SF.ticket.fields.account]}`,
        );
    } else {
      out.push(`unexpected Salesforce write ${call.method} ${path}`);
    }
  }
  return { violations: out, checked };
}

describe('tenant isolation', () => {
  it('no sequence of events makes a record hold two ids of one system', async () => {
    announce('09-tenant-isolation', {
      propertyRuns: RUNS,
      customers: CUSTOMERS,
      eventsPerCustomer: PER_CUSTOMER,
      seed: SEED,
    });
    s.set({ seed: SEED });
    const redis = new Redis(redisUrl());
    cleanup.push(async () => redis.disconnect());
    let runs = 0;
    let conflicts = 0;
    let records = 0;
    // One prefix and one store for all runs (their WATCH connections are reused); keys are cleared between runs.
    const prefix = uniquePrefix();
    const store = new RecordStore(redis, prefix);
    cleanup.push(async () => store.close());
    cleanup.push(() => deleteByPrefix(redisUrl(), prefix));
    await fc.assert(
      fc.asyncProperty(streamArb, fc.integer({ min: 1, max: 4 }), async (events, parallel) => {
        runs++;
        await clearPrefix(redis, prefix);
        // A few at once: the optimistic transactions race as workers do.
        for (let i = 0; i < events.length; i += parallel)
          await Promise.all(events.slice(i, i + parallel).map((e) => store.apply(e)));
        const state = await checkIndex(redis, prefix, POOL_KEYS);
        conflicts += (await store.listConflicts()).length;
        records += state.records;
        expect(state.violations).toEqual([]);
      }),
      { numRuns: RUNS, seed: SEED },
    );
    s.detail('propertyRuns', runs);
    s.detail('propertyConflictsRecorded', conflicts);
    s.detail('propertyRecords', records);
    expect(conflicts).toBeGreaterThan(0);
  }, 180_000);

  it('every portal call is addressed to ids linked to the record its data came from', async () => {
    const base = Array.from({ length: CUSTOMERS }, (_, n) => customer(n));
    const { sf, customers } = await startSalesforce(base);
    cleanup.push(() => sf.close());
    const zd = await startZendesk(customers);
    cleanup.push(() => zd.close());
    // Recording only (no faults): the calls as the platforms receive them, bodies included.
    const zdDoor = await startFaultProxy({ upstream: zd.origin, rate: 0, kinds: ['500'], seed: SEED });
    const sfDoor = await startFaultProxy({ upstream: sf.instanceUrl, rate: 0, kinds: ['500'], seed: SEED });
    cleanup.push(
      () => zdDoor.close(),
      () => sfDoor.close(),
    );
    const stack = await startStack('tenant-isolation', {
      env: {
        PORTAL_TARGET: 'zendesk,salesforce',
        ZENDESK_BASE_URL: `${zdDoor.origin}/api/v2`,
        ZENDESK_EMAIL: zd.credentials.email,
        ZENDESK_API_TOKEN: zd.credentials.token,
        SALESFORCE_INSTANCE_URL: sfDoor.origin,
        SALESFORCE_ACCESS_TOKEN: sf.accessToken,
      },
      tweak: (c) => {
        c.push.debounceMs = 100;
        c.targets.zendesk.rate = { max: 5_000, perMs: 10_000 };
        c.targets.salesforce.rate = { max: 5_000, perMs: 10_000 };
      },
    });
    cleanup.push(() => stack.stop());
    // Every fourth customer's Stripe metadata names the next customer's Account and organization.
    const wires = portalTraffic(customers, PER_CUSTOMER, SEED, (c) => {
      const next = customers[(c.n + 1) % customers.length]!;
      return c.n % 4 === 3
        ? { salesforceAccountId: next.salesforceAccountId, zendeskOrganizationId: next.zendeskOrganizationId }
        : {};
    });
    const client = new WebhookClient(stack.daemon.url, { connections: 8 });
    cleanup.push(() => client.close());
    const outcomes = await pool(wires, 8, (w) => client.send(w));
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    await stack.drain(120_000);

    const store = new RecordStore(stack.daemon.redis, stack.prefix);
    const index = await checkIndex(stack.daemon.redis, stack.prefix);
    const byInvoice = new Map<string, Owner>();
    const byTicket = new Map<string, Owner>();
    const byStripe = new Map<string, Owner>();
    for (const c of customers) {
      const record = await store.findByKey(`stripe:${c.stripeCustomerId}`);
      if (!record) continue;
      const owner = { record, keys: new Set(await store.ownedKeys(record.id)) };
      byStripe.set(c.stripeCustomerId, owner);
      for (const id of Object.keys(record.stripe.invoices)) byInvoice.set(id, owner);
    }
    for (const c of customers) {
      const record = await store.findByKey(`zdorg:${c.zendeskOrganizationId}`);
      if (!record) continue;
      const owner = { record, keys: new Set(await store.ownedKeys(record.id)) };
      for (const id of Object.keys(record.zendesk.tickets)) byTicket.set(id, owner);
    }
    const conflicts = await store.listConflicts();
    const { violations, checked } = violationsOf(
      { zendesk: zdDoor.calls, salesforce: sfDoor.calls },
      { byInvoice, byTicket, byStripe },
      customers,
    );
    s.set({ eventsSent: wires.length, portalCalls: zdDoor.calls.length + sfDoor.calls.length });
    s.detail('identityConflicts', conflicts.length);
    s.detail('portalWritesChecked', checked);
    s.detail('violations', violations.slice(0, 10));
    s.detail('records', index.records);

    expect(conflicts.length).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(CUSTOMERS);
    expect(index.violations).toEqual([]);
    expect(violations).toEqual([]);
    expect(await stack.daemon.queue.getFailedCount()).toBe(0);
    s.set({ applied: wires.length, lost: 0, leaked: violations.length });
    s.pass();
  }, 180_000);
});
