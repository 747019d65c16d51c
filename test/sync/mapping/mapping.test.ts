/**
 * Field mapping, pure: the default mapping writes exactly what portal-sync wrote before mappings existed,
 * the transforms convert as documented, and the parser refuses what it cannot read, naming the key path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { billingFields } from '../../../src/connectors/zendesk/target-format.js';
import {
  accountFieldValues,
  invoiceRecord as salesforceInvoice,
  ticketRecord,
} from '../../../src/connectors/salesforce/target-records.js';
import { invoiceValues } from '../../../src/connectors/money.js';
import {
  applyTransform,
  fieldSet,
  mappedSections,
  mappingFingerprint,
  withMapped,
} from '../../../src/sync/mapping/apply.js';
import { defaultMapping, keptAttributes, mappingProblems } from '../../../src/sync/mapping/defaults.js';
import { EMPTY_MAPPING, MappingSchema, pathProblem } from '../../../src/sync/mapping/schema.js';
import { portalProjection, projectionHash } from '../../../src/sync/events/project.js';
import { testConfig } from '../../support/daemon.js';
import { account, customer, replay, streamArb, subscription } from '../events/merge-events.js';

const targets = testConfig().targets;
const defaults = defaultMapping(targets);
const fixtureYaml = (name: string) =>
  parseYaml(readFileSync(new URL(`../../fixtures/config/${name}`, import.meta.url), 'utf8')) as { mapping: unknown };

describe('the default mapping', () => {
  it('writes the same Zendesk organization fields and Salesforce Account fields as portal-sync always did, for any record', () => {
    fc.assert(
      fc.property(streamArb(), (stream) => {
        const record = replay(stream);
        const projection = portalProjection(record.derived);
        const input = { record, projection };
        // Zendesk writes nothing (and clears what it showed) without billing data; with it, the same set.
        if (projection.billing !== null)
          expect(fieldSet(defaults.zendesk.organizationFields, input)).toEqual(
            billingFields(projection, targets.zendesk),
          );
        expect(fieldSet(defaults.salesforce.accountFields, input)).toEqual(
          accountFieldValues(projection, targets.salesforce.accountFields),
        );
        for (const invoice of projection.invoices) {
          expect(fieldSet(defaults.zendesk.invoiceObject, { ...input, invoice })).toEqual(
            invoiceValues(invoice, targets.zendesk.invoiceObject.fields),
          );
          const { [targets.salesforce.invoice.fields.account]: _account, ...sfInvoice } = salesforceInvoice(
            invoice,
            '001A',
            targets.salesforce.invoice,
          );
          expect(fieldSet(defaults.salesforce.invoice, { ...input, invoice })).toEqual(sfInvoice);
        }
        for (const ticket of projection.support?.tickets ?? []) {
          const { [targets.salesforce.ticket.fields.account]: _account, ...sfTicket } = ticketRecord(
            ticket,
            '001A',
            targets.salesforce.ticket,
          );
          expect(fieldSet(defaults.salesforce.ticket, { ...input, ticket })).toEqual(sfTicket);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('leaves the projection, and so its hash, as it was when no mapping is configured', () => {
    fc.assert(
      fc.property(streamArb(20), (stream) => {
        const record = replay(stream);
        const projection = portalProjection(record.derived);
        for (const target of ['zendesk', 'salesforce'] as const)
          expect(projectionHash(withMapped(projection, EMPTY_MAPPING, target, record))).toBe(
            projectionHash(projection),
          );
      }),
      { numRuns: 100 },
    );
  });
});

describe('a mapping from Stripe metadata', () => {
  const mapping = MappingSchema.parse(fixtureYaml('plan-tier-mapping.yaml').mapping);

  it('reads plan_tier from the customer metadata into a Zendesk organization field (enum map) and a Salesforce Account field', () => {
    const record = replay([customer({ version: 1_000 }, { metadata: { plan_tier: 'gold' } })]);
    const projection = portalProjection(record.derived);
    expect(mappedSections(mapping, 'zendesk', record, projection)).toEqual({
      organizationFields: { plan_tier: 'Gold' },
    });
    expect(mappedSections(mapping, 'salesforce', record, projection)).toEqual({
      accountFields: { Plan_Tier__c: 'gold' },
    });
    const unknownTier = replay([customer({ version: 1_000 }, { metadata: { plan_tier: 'bronze' } })]);
    expect(mappedSections(mapping, 'zendesk', unknownTier, portalProjection(unknownTier.derived))).toEqual({
      organizationFields: { plan_tier: 'Standard' },
    });
  });

  it('makes the record keep only the attributes it names', () => {
    expect(keptAttributes(mapping)).toEqual({
      customerMetadata: ['plan_tier'],
      subscriptionMetadata: [],
      trialEnd: false,
      organizationFields: [],
    });
    expect(keptAttributes(EMPTY_MAPPING)).toEqual({
      customerMetadata: [],
      subscriptionMetadata: [],
      trialEnd: false,
      organizationFields: [],
    });
  });

  it('a changed mapping changes the fingerprint of the target it changed only', () => {
    const changed = MappingSchema.parse({
      ...mapping,
      salesforce: { accountFields: [{ from: 'stripe.customer.metadata.plan_tier', to: 'Tier__c' }] },
    });
    expect(mappingFingerprint(changed, 'salesforce')).not.toBe(mappingFingerprint(mapping, 'salesforce'));
    expect(mappingFingerprint(changed, 'zendesk')).toBe(mappingFingerprint(mapping, 'zendesk'));
  });

  it('reads the subscription trial end, subscription metadata and Salesforce Account fields the record kept', () => {
    const m = MappingSchema.parse({
      salesforce: {
        accountFields: [
          { from: 'stripe.subscription.trial_end', to: 'Trial_Ends__c', transform: 'date' },
          { from: 'stripe.subscription.metadata.seats', to: 'Seats__c' },
          { from: ['salesforce.account.Name', 'billing.plan'], to: 'Summary__c', transform: { join: ' / ' } },
        ],
      },
    });
    const record = replay([
      account({ Name: 'Acme' }, { version: 1_000 }),
      subscription(
        'sub_1',
        'trialing',
        { version: 2_000 },
        { planName: 'Team', trialEnd: '2027-01-31T12:00:00.000Z', metadata: { seats: '12' } },
      ),
    ]);
    expect(mappedSections(m, 'salesforce', record, portalProjection(record.derived))).toEqual({
      accountFields: { Trial_Ends__c: '2027-01-31', Seats__c: '12', Summary__c: 'Acme / Team' },
    });
  });
});

describe('transforms', () => {
  it('money turns minor units into major ones in the currency given, and anything else into null', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.constantFrom('usd', 'eur', 'jpy', 'kwd'), (n, currency) => {
        const decimals = currency === 'jpy' ? 0 : currency === 'kwd' ? 3 : 2;
        expect(applyTransform('money', [n], currency)).toBe(n / 10 ** decimals);
        expect(applyTransform('money', [String(n)], currency)).toBe(n / 10 ** decimals);
      }),
    );
    expect(applyTransform('money', ['twelve'], 'usd')).toBeNull();
    expect(applyTransform('money', [null], 'usd')).toBeNull();
  });

  it('date gives the UTC day of an ISO time, a day or unix seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253_402_300_799 }), (s) => {
        const day = new Date(s * 1000).toISOString().slice(0, 10);
        expect(applyTransform('date', [s], null)).toBe(day);
        expect(applyTransform('date', [new Date(s * 1000).toISOString()], null)).toBe(day);
      }),
    );
    expect(applyTransform('date', ['2026-12-06'], null)).toBe('2026-12-06');
    expect(applyTransform('date', ['soon'], null)).toBeNull();
  });

  it('boolean reads yes/no words, numbers and nothing (unchecked); enum maps with a default; join skips empty parts', () => {
    expect([true, 'yes', 'TRUE', '1', 3].map((v) => applyTransform('boolean', [v], null))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect([false, 'no', 'off', '0', 0, null, undefined].map((v) => applyTransform('boolean', [v], null))).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(applyTransform('boolean', ['maybe'], null)).toBeNull();
    const tiers = { enum: { gold: 'Gold', '1': true }, default: 'Other' } as const;
    expect([
      applyTransform(tiers, ['gold'], null),
      applyTransform(tiers, [1], null),
      applyTransform(tiers, ['lead'], null),
    ]).toEqual(['Gold', true, 'Other']);
    expect(applyTransform({ enum: { gold: 'Gold' } }, ['lead'], null)).toBeNull();
    expect(applyTransform('join', ['a', null, '', 2, undefined, false], null)).toBe('a, 2, false');
    expect(applyTransform({ join: '|' }, [null, undefined], null)).toBeNull();
  });
});

describe('the mapping parser', () => {
  it('refuses every bad entry at once, each by its key path', () => {
    const raw = fixtureYaml('bad-mapping.yaml').mapping;
    const parsed = MappingSchema.safeParse(raw);
    expect(parsed.success).toBe(false);
    const paths = parsed.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual([
      'zendesk.organizationFields.1.from',
      'salesforce.accountFields.0.transform',
      'salesforce.accountFields.1.transform',
      'salesforce.accountFields.2.from',
    ]);
    expect(mappingProblems(raw, targets)).toEqual([
      "config mapping.zendesk.organizationFields.2.to: billing_status is one of portal-sync's own fields (rename it under targets.zendesk instead, or map to another field)",
    ]);
  });

  it('refuses a source field that portal-sync itself writes: it would read back its own writes', () => {
    const raw = {
      zendesk: { organizationFields: [{ from: 'stripe.customer.metadata.plan_tier', to: 'plan_tier' }] },
      salesforce: {
        accountFields: [
          { from: 'zendesk.organization.fields.plan_tier', to: 'Tier__c' },
          { from: 'zendesk.organization.fields.billing_plan', to: 'Plan_Copy__c' },
          { from: 'salesforce.account.Tier__c', to: 'Tier_Copy__c' },
        ],
      },
    };
    expect(MappingSchema.safeParse(raw).success).toBe(true);
    expect(mappingProblems(raw, targets)).toEqual([
      'config mapping.salesforce.accountFields.0.from: zendesk.organization.fields.plan_tier is an organization field portal-sync writes: it would read back its own writes',
      'config mapping.salesforce.accountFields.1.from: zendesk.organization.fields.billing_plan is an organization field portal-sync writes: it would read back its own writes',
      'config mapping.salesforce.accountFields.2.from: salesforce.account.Tier__c is an Account field this mapping writes: it would read back its own writes',
    ]);
  });

  it('refuses any path outside the grammar, naming the entry by its key path', () => {
    const word = fc.stringMatching(/^[a-z][a-zA-Z]{0,12}$/);
    const outside = fc.oneof(
      word,
      fc.tuple(fc.constantFrom('billing', 'profile', 'links', 'stripe', 'zendesk'), word).map(([a, b]) => `${a}.${b}`),
    );
    fc.assert(
      fc.property(outside, (path) => {
        fc.pre(pathProblem(path, 'accountFields') !== null);
        const parsed = MappingSchema.safeParse({
          salesforce: { accountFields: [{ from: path, to: 'Some_Field__c' }] },
        });
        expect(parsed.success).toBe(false);
        expect(parsed.error!.issues.map((i) => i.path.join('.'))).toEqual(['salesforce.accountFields.0.from']);
      }),
    );
    for (const path of [
      'billing',
      'billing.tierr',
      'stripe.customer',
      'stripe.customer.metadata.',
      'zendesk.organization.fields.a b',
      'salesforce.account.1Bad',
    ]) {
      expect(pathProblem(path, 'accountFields'), path).not.toBeNull();
    }
  });

  it('accepts any entry built from known paths and transforms, and reads each to a plain field value', () => {
    const path = fc.constantFrom(
      'billing.plan',
      'billing.mrr',
      'profile.tier',
      'openInvoiceCount',
      'stripe.customer.metadata.plan_tier',
      'stripe.subscription.trial_end',
      'salesforce.account.Industry',
    );
    const transform = fc.option(
      fc.constantFrom('date', 'money', 'boolean', { enum: { gold: 'Gold' }, default: 'Other' }),
      { nil: undefined },
    );
    const entry = fc
      .record({ from: path, to: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), transform })
      .map((e) => (e.transform === undefined ? { from: e.from, to: e.to } : e));
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: (e) => e.to, maxLength: 8 }), streamArb(10), (entries, stream) => {
        const mapping = MappingSchema.parse({ zendesk: { organizationFields: entries } });
        const record = replay(stream);
        const values =
          mappedSections(mapping, 'zendesk', record, portalProjection(record.derived))?.organizationFields ?? {};
        expect(Object.keys(values).sort()).toEqual(entries.map((e) => e.to).sort());
        for (const v of Object.values(values))
          expect(v === null || ['string', 'number', 'boolean'].includes(typeof v)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});
