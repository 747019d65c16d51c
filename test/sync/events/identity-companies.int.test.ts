/**
 * Property (fast-check, real Redis, real parsers): random histories of three companies' Stripe
 * customers and invoices, Salesforce Accounts and Contacts, Zendesk organizations and users, and
 * portal activity — with emails shared across companies, placeholder and malformed cross-ids, and
 * people moving between organizations and Accounts. Whatever the history:
 * - no record holds system keys (Stripe customer, Account, organization) of two companies;
 * - every push the targets would make for a record writes only that company's billing and invoices,
 *   and only to that company's organization or Account.
 * No admin links occur in these histories, so no record may ever span two companies.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePortalEvents } from '../../../src/connectors/portal/events.js';
import { recordEvent } from '../../../src/connectors/salesforce/outbound.js';
import { planSalesforceWrites } from '../../../src/connectors/salesforce/target-records.js';
import { planZendeskBulk } from '../../../src/connectors/zendesk/target-bulk.js';
import { salesforceId18 } from '../../../src/sync/events/ids.js';
import { isSystemKey } from '../../../src/sync/events/identity.js';
import { portalProjection } from '../../../src/sync/events/project.js';
import type { PortalPush } from '../../../src/sync/push/portal-target.js';
import { linksFor } from '../../../src/sync/push/worker.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { testConfig } from '../../support/daemon.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { stripeFixture, zendeskFixture } from './merge-events.js';

const COMPANIES = [0, 1, 2] as const;
const stripeId = (k: number) => `cus_Company${k}`;
const accountId = (k: number) => salesforceId18(`001Company0000${k}`);
const orgId = (k: number) => String(7_000_000_000_100 + k);
const contactId = (j: number) => salesforceId18(`003Contact0000${j}`);
const userId = (j: number) => String(8_000_000_000_200 + j);
/** Each company's Stripe balance is its own (-(k+1) in major units), so a written balance names its company. */
const balanceOf = (k: number) => -(k + 1) * 100;

const COMPANY_OF_KEY = new Map<string, number>(
  COMPANIES.flatMap(
    (k) =>
      [
        [`stripe:${stripeId(k)}`, k],
        [`sfacct:${accountId(k)}`, k],
        [`zdorg:${orgId(k)}`, k],
      ] as Array<[string, number]>,
  ),
);
const companyOfInvoice = (id: string) => Number(/^in_C(\d)_/.exec(id)?.[1] ?? NaN);

const EMAILS = [
  'billing@c0.example',
  'billing@c1.example',
  'billing@c2.example',
  'shared@agency.example',
  'kate@c0.example',
  '\u212Aate@c0.example',
  'ann+c1@x.example',
  'N/A',
  null,
];
/** What people put where a cross-id belongs; the honest id is one choice among them. */
const crossAccount = (k: number) =>
  fc.constantFrom<string | undefined>(
    undefined,
    accountId(k),
    'N/A',
    '0',
    '',
    'TBD',
    `${accountId(k).slice(0, 15)}ZZZ`,
    contactId(k),
  );
const crossOrg = (k: number) => fc.constantFrom<string | undefined>(undefined, orgId(k), 'N/A', '0', '-');

const company = fc.constantFrom(...COMPANIES);
const person = fc.nat(3);
const email = fc.constantFrom(...EMAILS);
const iso = (version: number) => new Date(version).toISOString();

type Op = (n: number, version: number) => SourceEvent;
const only = (r: ReturnType<typeof recordEvent>): SourceEvent => {
  if (r.kind !== 'events') throw new Error(`did not parse: ${r.kind}`);
  return r.events[0]!;
};

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // A Stripe customer, its email and metadata as anyone typed them.
  company
    .chain((k) => fc.tuple(fc.constant(k), email, crossAccount(k), crossOrg(k)))
    .map(
      ([k, mail, acct, org]): Op =>
        (n, version) =>
          stripeFixture('customer.created', (e) => {
            e.id = `evt_p${n}`;
            e.created = Math.floor(version / 1000);
            const metadata = {
              ...(acct !== undefined ? { salesforce_account_id: acct } : {}),
              ...(org !== undefined ? { zendesk_organization_id: org } : {}),
            };
            Object.assign(e.data.object, { id: stripeId(k), email: mail, metadata, balance: balanceOf(k) });
          }),
    ),
  // One of the customer's invoices.
  fc.tuple(company, fc.nat(2), email, crossAccount(0)).map(
    ([k, i, mail, acct]): Op =>
      (n, version) =>
        stripeFixture('invoice.finalized', (e) => {
          e.id = `evt_p${n}`;
          e.created = Math.floor(version / 1000);
          Object.assign(e.data.object, {
            id: `in_C${k}_${i}`,
            customer: stripeId(k),
            customer_email: mail,
            metadata: acct === undefined ? {} : { salesforce_account_id: acct === accountId(0) ? accountId(k) : acct },
          });
        }),
  ),
  company.map(
    (k): Op =>
      (n, version) =>
        only(
          recordEvent({
            entity: 'Account',
            eventId: `om-${n}`,
            type: 'outbound.Account',
            objectId: accountId(k),
            deleted: false,
            fields: { Name: `Company ${k}`, SystemModstamp: iso(version) },
          }),
        ),
  ),
  // A contact, in whichever Account they work at now (they move), or none, or a placeholder.
  fc.tuple(person, company, email, fc.constantFrom('account', 'none', 'N/A')).map(
    ([j, k, mail, where]): Op =>
      (n, version) =>
        only(
          recordEvent({
            entity: 'Contact',
            eventId: `om-${n}`,
            type: 'outbound.Contact',
            objectId: contactId(j),
            deleted: false,
            fields: {
              AccountId: where === 'account' ? accountId(k) : where === 'none' ? null : 'N/A',
              Email: mail,
              SystemModstamp: iso(version),
            },
          }),
        ),
  ),
  fc.tuple(company, fc.constantFrom<'honest' | 'N/A' | '' | 'bad'>('honest', 'N/A', '', 'bad')).map(
    ([k, ext]): Op =>
      (n, version) =>
        zendeskFixture('organization.created', (e) => {
          e.id = `zo-${n}`;
          const externalId = ext === 'honest' ? accountId(k) : ext === 'bad' ? `${accountId(k).slice(0, 15)}ZZZ` : ext;
          Object.assign(e.detail, { id: orgId(k), external_id: externalId, updated_at: iso(version) });
        }),
  ),
  // A user, in whichever organization they are in now (they move), or none.
  fc.tuple(person, fc.option(company, { nil: null }), email, fc.boolean()).map(
    ([j, k, mail, contactLink]): Op =>
      (n, version) =>
        zendeskFixture('user.created', (e) => {
          e.id = `zu-${n}`;
          Object.assign(e.detail, {
            id: userId(j),
            email: mail,
            organization_id: k === null ? null : orgId(k),
            external_id: contactLink ? contactId(j) : '',
            updated_at: iso(version),
          });
        }),
  ),
  // Portal activity naming any user, contact and email together.
  fc
    .tuple(fc.option(person, { nil: undefined }), fc.option(person, { nil: undefined }), email)
    .map(([u, c, mail]): Op => (n, version) => {
      const contact = {
        ...(u !== undefined ? { zendesk_user_id: userId(u) } : {}),
        ...(c !== undefined ? { salesforce_contact_id: contactId(c) } : {}),
        ...(mail && mail !== 'N/A' ? { email: mail } : {}),
      };
      const [r] = parsePortalEvents({
        id: `pe-${n}`,
        type: 'invoice_view',
        occurred_at: iso(version).replace(/\.\d+Z$/, 'Z'),
        contact: Object.keys(contact).length ? contact : { email: 'nobody@nowhere.example' },
      });
      if (r?.kind !== 'events') throw new Error(`portal event did not parse: ${JSON.stringify(r)}`);
      return r.events[0]!;
    }),
);

const historyArb = fc.array(opArb, { minLength: 1, maxLength: 28 });
const CFG = testConfig().targets;

/** What the targets would write for each record, and to which company each write goes. */
function crossCompanyWrites(records: Array<{ push: PortalPush }>): string[] {
  const out: string[] = [];
  for (const { push } of records) {
    const { zendeskOrganizationId: org, salesforceAccountId: acct } = push.links;
    const orgCompany = org === null ? undefined : COMPANY_OF_KEY.get(`zdorg:${org}`);
    const plan = planZendeskBulk([push], CFG.zendesk);
    for (const f of plan.fields) {
      const balance = f.fields[CFG.zendesk.fields.balance];
      if (f.owner.kind === 'organization' && typeof balance === 'number' && -balance - 1 !== orgCompany)
        out.push(`company ${-balance - 1}'s balance to organization ${f.owner.id}`);
    }
    for (const { record } of plan.invoices) {
      const fields = record.custom_object_fields as Record<string, unknown>;
      const toOrg = fields[CFG.zendesk.invoiceObject.fields.organization];
      if (toOrg && companyOfInvoice(String(record.external_id)) !== COMPANY_OF_KEY.get(`zdorg:${toOrg}`))
        out.push(`invoice ${record.external_id} to organization ${toOrg}`);
    }
    if (acct !== null) {
      const acctCompany = COMPANY_OF_KEY.get(`sfacct:${acct}`);
      const writes = planSalesforceWrites(push, acct, CFG.salesforce);
      const balance = writes.account?.[CFG.salesforce.accountFields.balance];
      if (typeof balance === 'number' && -balance - 1 !== acctCompany)
        out.push(`company ${-balance - 1}'s balance to Account ${acct}`);
      for (const w of writes.invoices) {
        const id = String(w.record[CFG.salesforce.invoice.externalId]);
        if (companyOfInvoice(id) !== acctCompany) out.push(`invoice ${id} to Account ${acct}`);
      }
    }
  }
  return out;
}

describe('identity across companies', () => {
  const redis = new Redis(redisUrl());
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deleteByPrefix(redisUrl(), p);
    redis.disconnect();
  });

  it('no history of shared emails, placeholder ids and moves makes a record hold two companies, or a push write across them', async () => {
    let conflicts = 0;
    let refusals = 0;
    let writesChecked = 0;
    await fc.assert(
      fc.asyncProperty(historyArb, async (ops) => {
        const prefix = uniquePrefix();
        prefixes.push(prefix);
        const store = new RecordStore(redis, prefix);
        try {
          for (const [n, op] of ops.entries()) await store.apply(op(n, 1_790_000_000_000 + n * 60_000));
          const ids = await redis.smembers(`${prefix}:customers`);
          const pushes: Array<{ push: PortalPush }> = [];
          for (const id of ids) {
            const record = (await store.get(id))!;
            const owned = await store.ownedKeys(id);
            const companies = new Set(owned.filter(isSystemKey).map((k) => COMPANY_OF_KEY.get(k)));
            expect(companies.size, `${id} holds ${owned.join(', ')}`).toBeLessThanOrEqual(1);
            const push: PortalPush = {
              customerId: id,
              links: linksFor(record, owned),
              profile: record.derived.profile,
              projection: portalProjection(record.derived),
              previous: null,
            };
            pushes.push({ push });
            writesChecked += push.projection.invoices.length;
          }
          expect(crossCompanyWrites(pushes)).toEqual([]);
          conflicts += (await store.listConflicts()).length;
          refusals += (await store.listRefusals()).length;
        } finally {
          store.close();
          await deleteByPrefix(redisUrl(), prefix);
        }
      }),
      { numRuns: 60 },
    );
    // The histories did reach the cases that matter.
    expect(conflicts).toBeGreaterThan(0);
    expect(refusals).toBeGreaterThan(0);
    expect(writesChecked).toBeGreaterThan(0);
  }, 180_000);
});
