/**
 * The identity attacks of issue 13, through the real parsers into the record store on real Redis:
 * placeholder cross-ids, an email shared across companies, portal events naming two customers, and
 * email normalization. Each would have put one company's billing into another company's record.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePortalEvents } from '../../../src/connectors/portal/events.js';
import { recordEvent } from '../../../src/connectors/salesforce/outbound.js';
import { IdentityAdmin } from '../../../src/sync/admin/identity-admin.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { explainIdentity } from '../../../src/sync/admin/inspect.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { stripeFixture, zendeskFixture } from './merge-events.js';

const redis = new Redis(redisUrl());
let prefix: string;
let store: RecordStore;
const prefixes: string[] = [];

beforeEach(() => {
  prefix = uniquePrefix();
  prefixes.push(prefix);
  store = new RecordStore(redis, prefix);
});
afterEach(() => store.close());
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(redisUrl(), p);
  redis.disconnect();
});

const ORG_C = '7000000000301';
const ACCOUNT_C = '001000000000301AAA';

/** Company D's Stripe customer (billing email `email`, metadata as given) and one of its invoices. */
function stripeD(metadata: Record<string, string>, email = 'billing@d.example'): SourceEvent[] {
  const customer = stripeFixture('customer.created', (e) =>
    Object.assign(e.data.object, { id: 'cus_CompanyD', email, metadata }),
  );
  const invoice = stripeFixture('invoice.finalized', (e) =>
    Object.assign(e.data.object, { customer: 'cus_CompanyD', customer_email: email, metadata }),
  );
  return [customer, invoice];
}
/** Company C's Zendesk organization, its external_id as given. */
const orgC = (externalId: string | null) =>
  zendeskFixture('organization.created', (e) => Object.assign(e.detail, { id: ORG_C, external_id: externalId }));
/** A user of C's organization: a consultant whose email is `email`. */
const userInC = (email: string, id = '8000000000301') =>
  zendeskFixture('user.created', (e) =>
    Object.assign(e.detail, { id, email, organization_id: ORG_C, external_id: '' }),
  );
const portal = (event: Record<string, unknown>): SourceEvent => {
  const [r] = parsePortalEvents({
    id: `pe-${Math.random()}`,
    type: 'invoice_view',
    occurred_at: '2026-11-23T10:15:00Z',
    ...event,
  });
  if (r?.kind !== 'events') throw new Error(`portal event did not parse: ${JSON.stringify(r)}`);
  return r.events[0]!;
};
const applyAll = async (events: SourceEvent[]) => {
  for (const e of events) await store.apply(e);
};

describe('placeholder cross-ids', () => {
  it('a placeholder Salesforce id never links two companies', async () => {
    await applyAll([...stripeD({ salesforce_account_id: 'N/A' }), orgC('N/A')]);
    const d = await store.findByKey('stripe:cus_CompanyD');
    const c = await store.findByKey(`zdorg:${ORG_C}`);
    expect(d && c && d.id !== c.id).toBe(true);
    expect(c!.derived.invoices).toEqual([]);
    expect(c!.derived.billing).toBeNull();
    expect(await store.ownedKeys(c!.id)).toEqual([`zdorg:${ORG_C}`]);
    // Both refusals are visible, each filed under the record its event went to.
    const refused = await store.listRefusals();
    expect(refused.map((r) => [r.ref, r.value, r.reason, r.recordId]).sort()).toEqual(
      [
        ['salesforceAccountId', 'N/A', 'placeholder', d!.id],
        ['salesforceAccountId', 'N/A', 'placeholder', c!.id],
      ].sort(),
    );
  });

  it('blank, whitespace, none, -, 0, null and TBD never link either, and a malformed id is refused by shape', async () => {
    for (const [n, value] of [
      '',
      '   ',
      'none',
      '-',
      '0',
      'null',
      'TBD',
      '001-not-an-id',
      '003000000000301AAA',
    ].entries()) {
      await store.apply(
        stripeFixture('customer.created', (e) =>
          Object.assign(e.data.object, {
            id: `cus_P${n}`,
            email: null,
            metadata: { salesforce_account_id: value, zendesk_organization_id: value },
          }),
        ),
      );
    }
    await store.apply(orgC('TBD'));
    expect(await store.ownedKeys((await store.findByKey(`zdorg:${ORG_C}`))!.id)).toEqual([`zdorg:${ORG_C}`]);
    for (let n = 0; n < 9; n++)
      expect(await store.ownedKeys((await store.findByKey(`stripe:cus_P${n}`))!.id)).toEqual([`stripe:cus_P${n}`]);
    const reasons = new Set((await store.listRefusals()).map((r) => r.reason));
    expect(reasons).toEqual(new Set(['placeholder', 'shape', 'prefix']));
  });

  it('a 15-character Account id in Stripe metadata links the Account that Salesforce names by 18', async () => {
    await store.apply(stripeD({ salesforce_account_id: ACCOUNT_C.slice(0, 15) })[0]!);
    await store.apply(orgC(ACCOUNT_C));
    expect((await store.findByKey('stripe:cus_CompanyD'))?.id).toBe((await store.findByKey(`zdorg:${ORG_C}`))?.id);
  });

  it('inspect --explain shows the ids that link a record and the ones refused', async () => {
    await applyAll(stripeD({ salesforce_account_id: 'N/A' }));
    const d = (await store.findByKey('stripe:cus_CompanyD'))!;
    const x = await explainIdentity(store, d.id, await store.ownedKeys(d.id));
    expect(x.linkedBy).toEqual(['email:billing@d.example', 'stripe:cus_CompanyD']);
    expect(x.refused).toHaveLength(1);
    expect(x.refused[0]).toMatchObject({
      ref: 'salesforceAccountId',
      value: 'N/A',
      reason: 'placeholder',
      evidence: { source: 'stripe' },
    });
  });
});

describe('emails shared across companies', () => {
  it("a consultant in company C whose email is company D's billing email does not bring D's Stripe customer into C's organization", async () => {
    await applyAll([orgC(ACCOUNT_C), ...stripeD({})]);
    const outcome = await store.apply(userInC('billing@d.example'));
    const c = (await store.findByKey(`zdorg:${ORG_C}`))!;
    const d = (await store.findByKey('stripe:cus_CompanyD'))!;
    expect(c.id).not.toBe(d.id);
    expect(c.derived.invoices).toEqual([]);
    expect(c.derived.billing).toBeNull();
    expect(outcome.mergedIds).toEqual([]);
    // An identity conflict for an admin, made by the email.
    const [conflict] = await store.listConflicts();
    expect(conflict).toMatchObject({ system: 'email', evidence: { via: 'email:billing@d.example' } });
    expect(conflict!.recordIds.sort()).toEqual([c.id, d.id].sort());
  });

  it('the same holds whichever arrives first, and an admin can still link the two', async () => {
    await applyAll([userInC('billing@d.example'), ...stripeD({}), orgC(ACCOUNT_C)]);
    const c = (await store.findByKey(`zdorg:${ORG_C}`))!;
    const d = (await store.findByKey('stripe:cus_CompanyD'))!;
    expect(c.id).not.toBe(d.id);
    expect(c.derived.invoices).toEqual([]);
    expect(await store.listConflicts()).toHaveLength(1);
    const linked = await new IdentityAdmin(store, redis).link(c.id, d.id, { by: 'test', reason: 'same company' });
    expect(linked.derived.invoices).toHaveLength(1);
    expect(await store.listConflicts()).toEqual([]);
  });

  it('an email still joins a contact that brings no company id to the billing customer', async () => {
    await applyAll(stripeD({}));
    const contact = recordEvent({
      entity: 'Contact',
      eventId: 'om-contact-1',
      type: 'outbound.Contact',
      objectId: '0035e00000QxR2mAAF',
      deleted: false,
      fields: { Email: 'Billing@D.example', SystemModstamp: '2026-11-20T10:00:00Z' },
    });
    if (contact.kind !== 'events') throw new Error(contact.kind);
    const outcome = await store.apply(contact.events[0]!);
    expect(outcome.recordId).toBe((await store.findByKey('stripe:cus_CompanyD'))!.id);
    expect(await store.listConflicts()).toEqual([]);
  });

  it('the Kelvin sign and K name one address, whichever form arrives first', async () => {
    for (const [first, second] of [
      ['kate@d.example', '\u212Aate@d.example'],
      ['\u212Aate@d.example', 'KATE@d.example'],
    ] as const) {
      store.close();
      prefix = uniquePrefix();
      prefixes.push(prefix);
      store = new RecordStore(redis, prefix);
      const r1 = await store.apply(stripeD({}, first)[0]!);
      const contact = recordEvent({
        entity: 'Contact',
        eventId: 'om-kelvin',
        type: 'outbound.Contact',
        objectId: '0035e00000QxR2mAAF',
        deleted: false,
        fields: { Email: second ?? null, SystemModstamp: '2026-11-20T10:00:00Z' },
      });
      if (contact.kind !== 'events') throw new Error(contact.kind);
      expect((await store.apply(contact.events[0]!)).recordId).toBe(r1.recordId);
      expect(await store.ownedKeys(r1.recordId)).toEqual([
        'email:kate@d.example',
        'sfcontact:0035e00000QxR2mAAF',
        'stripe:cus_CompanyD',
      ]);
    }
  });
});

describe('portal activity', () => {
  it("a portal event naming user A and another company's email is filed under A, merges nothing and links nothing", async () => {
    await applyAll([orgC(ACCOUNT_C), userInC('ann@c.example'), ...stripeD({})]);
    const before = { c: await store.findByKey(`zdorg:${ORG_C}`), d: await store.findByKey('stripe:cus_CompanyD') };
    const outcome = await store.apply(
      portal({ contact: { zendesk_user_id: '8000000000301', email: 'billing@d.example' } }),
    );
    expect(outcome.recordId).toBe(before.c!.id);
    expect(outcome.mergedIds).toEqual([]);
    expect(await store.ownedKeys(before.c!.id)).toEqual([
      'email:ann@c.example',
      `sfacct:${ACCOUNT_C}`,
      `zdorg:${ORG_C}`,
      'zduser:8000000000301',
    ]);
    expect((await store.findByKey('stripe:cus_CompanyD'))?.id).toBe(before.d!.id);
    expect((await store.findByKey(`zdorg:${ORG_C}`))!.derived.invoices).toEqual([]);
    // The mismatch is visible: the email named another customer.
    expect((await store.listRefusals()).find((r) => r.reason === 'mismatch')).toMatchObject({
      ref: 'email',
      value: 'billing@d.example',
      recordId: before.c!.id,
    });
  });

  it('a portal event whose ids belong to no customer links none of them: its record holds its strongest id alone', async () => {
    const outcome = await store.apply(portal({ contact: { email: 'billing@d.example', zendesk_user_id: 999 } }));
    expect(await store.ownedKeys(outcome.recordId)).toEqual(['zduser:999']);
    expect(await store.findByKey('email:billing@d.example')).toBeNull();
    // D's Stripe customer with that email later is not joined to what the portal said.
    await applyAll(stripeD({}));
    expect(await store.ownedKeys((await store.findByKey('stripe:cus_CompanyD'))!.id)).toEqual([
      'email:billing@d.example',
      'stripe:cus_CompanyD',
    ]);
  });

  it('a portal event with no valid id is filed nowhere, and the refusal is listed', async () => {
    const outcome = await store.apply(portal({ contact: { zendesk_user_id: 'N/A' } }));
    expect(outcome.unattributed).toBe(true);
    expect(await redis.scard(`${prefix}:customers`)).toBe(0);
    expect(await store.listRefusals()).toMatchObject([
      { ref: 'zendeskUserId', value: 'N/A', reason: 'placeholder', recordId: null },
    ]);
  });

  it('a portal event known only by its email is filed under that customer', async () => {
    await applyAll(stripeD({}));
    const outcome = await store.apply(portal({ contact: { email: 'Billing@D.example' } }));
    expect(outcome.recordId).toBe((await store.findByKey('stripe:cus_CompanyD'))!.id);
    expect(outcome.record.portal.lastActivityAt).not.toBeNull();
  });
});
