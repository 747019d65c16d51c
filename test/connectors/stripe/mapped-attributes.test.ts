/**
 * What the Stripe parser keeps of the attributes only a field mapping reads: with a daemon's parse keys, the
 * customer's metadata holds its cross-id keys and the mapped keys only, a subscription its mapped metadata keys
 * and trial end only when mapped; without a mapping nothing of a subscription's, as before.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseStripeEvent, stripeParseKeys, STRIPE_CROSS_ID_KEYS } from '../../../src/connectors/stripe/events.js';
import { EMPTY_MAPPING, MappingSchema } from '../../../src/sync/mapping/schema.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';

type Json = Record<string, any>;
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../../fixtures/stripe/${name}.json`, import.meta.url), 'utf8')) as Json;
const only = (r: ReturnType<typeof parseStripeEvent>): SourceEvent => {
  if (r.kind !== 'events') throw new Error(r.reason);
  return r.events[0]!;
};
const identity = { stripeMetadataKeys: STRIPE_CROSS_ID_KEYS };
const mapping = MappingSchema.parse({
  zendesk: { organizationFields: [{ from: 'stripe.customer.metadata.plan_tier', to: 'plan_tier' }] },
  salesforce: {
    accountFields: [
      { from: 'stripe.subscription.metadata.seats', to: 'Seats__c' },
      { from: 'stripe.subscription.trial_end', to: 'Trial_Ends__c', transform: 'date' },
    ],
  },
});

describe('Stripe attributes kept for a field mapping', () => {
  it("keeps of the customer's metadata its cross-id keys and the mapped keys, nothing else", () => {
    const raw = fixture('customer.created');
    raw['data'].object.metadata = {
      salesforce_account_id: '001TestAcme0001IEA',
      plan_tier: 'gold',
      internal_note: 'never on a portal',
    };
    expect(only(parseStripeEvent(raw, stripeParseKeys({ identity, mapping }))).data).toMatchObject({
      metadata: { salesforce_account_id: '001TestAcme0001IEA', plan_tier: 'gold' },
    });
    expect(
      (only(parseStripeEvent(raw, stripeParseKeys({ identity, mapping: EMPTY_MAPPING }))).data as { metadata: object })
        .metadata,
    ).toEqual({ salesforce_account_id: '001TestAcme0001IEA' });
  });

  it("keeps a subscription's mapped metadata keys and trial end only when mapped", () => {
    const raw = fixture('customer.subscription.updated');
    raw['data'].object.metadata = { seats: '12', other: 'x' };
    raw['data'].object.trial_end = 1_798_761_600;
    const mapped = only(parseStripeEvent(raw, stripeParseKeys({ identity, mapping }))).data;
    expect(mapped).toMatchObject({ metadata: { seats: '12' }, trialEnd: new Date(1_798_761_600_000).toISOString() });
    expect((mapped as { metadata: object }).metadata).toEqual({ seats: '12' });
    for (const keys of [stripeParseKeys({ identity, mapping: EMPTY_MAPPING }), STRIPE_CROSS_ID_KEYS]) {
      const plain = only(parseStripeEvent(raw, keys)).data;
      expect(plain).not.toHaveProperty('metadata');
      expect(plain).not.toHaveProperty('trialEnd');
    }
  });
});
