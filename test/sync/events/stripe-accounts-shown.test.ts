/**
 * Where the Stripe account of a customer shows: outbound events' links, `inspect`, the admin dashboard; and
 * how an event queued before its single account was named is filed (under STRIPE_ACCOUNT_ID).
 */
import { describe, expect, it } from 'vitest';
import { stripeAccountOf } from '../../../src/sync/admin/inspect.js';
import type { StripeAccount } from '../../../src/config-stripe.js';
import { deriveChangeEvents, viewOf } from '../../../src/sync/outbound/derive.js';
import { eventIdentityKeys } from '../../../src/sync/events/identity.js';
import { withStripeAccount } from '../../../src/sync/events/stripe-accounts.js';
import { renderHealth } from '../../../src/webhooks/admin/health.js';
import { customer, replay, stripeFixture, subscription, zendeskFixture } from './merge-events.js';

const ACCT = 'acct_1EuEntityFAKE0001';
const account = (o: Partial<StripeAccount>): StripeAccount => ({
  id: ACCT,
  label: 'eu',
  mode: 'live',
  webhookSecrets: [],
  connect: false,
  connectWebhookSecrets: [],
  ...o,
});

describe('the Stripe account of a customer', () => {
  const record = replay([customer({ version: 1_000 }), subscription('sub_1', 'active', { version: 1_000 })], 'cust_1');

  it("is in outbound events' customer links when its key names one, and absent for the unnamed single account", () => {
    const scoped = viewOf(record, [`stripe:${ACCT}:cus_1`]);
    expect(scoped.links).toMatchObject({ stripeCustomerId: 'cus_1', stripeAccountId: ACCT });
    const [created] = deriveChangeEvents({
      customerId: 'cust_1',
      version: 1,
      before: null,
      after: scoped,
      mergedIds: [],
      conflicts: [],
      now: new Date('2026-12-06T08:00:00Z'),
    });
    expect(created?.data).toMatchObject({ customer: { links: { stripeCustomerId: 'cus_1', stripeAccountId: ACCT } } });
    expect(viewOf(record, ['stripe:cus_1']).links).not.toHaveProperty('stripeAccountId');
  });

  it('is named by inspect, with its label when the account is listed', () => {
    expect(stripeAccountOf([`stripe:${ACCT}:cus_1`, 'email:a@b.example'], [account({})])).toEqual({
      customerId: 'cus_1',
      accountId: ACCT,
      label: 'eu',
    });
    expect(stripeAccountOf(['stripe:acct_1ConnectedFAKE:cus_1'], [account({ connect: true })])).toEqual({
      customerId: 'cus_1',
      accountId: 'acct_1ConnectedFAKE',
      label: null,
    });
    expect(stripeAccountOf(['stripe:cus_1'], [account({ id: null, label: 'default' })])).toEqual({
      customerId: 'cus_1',
      accountId: null,
      label: 'default',
    });
    expect(stripeAccountOf(['sfacct:001A'], [account({})])).toBeNull();
  });

  it('is listed on the admin dashboard with its mode and whether it is a Connect platform', () => {
    const html = renderHealth({
      workers: [],
      lastWebhooks: {},
      stripeAccounts: [
        { label: 'us', id: 'acct_1Us', mode: 'live', connect: true },
        { label: 'default', id: null, mode: null, connect: false },
      ],
    });
    expect(html).toContain('<span class="tag">stripe us</span> <code>acct_1Us</code> · live · Connect platform');
    expect(html).toMatch(
      /stripe default<\/span> <span class="muted">unnamed \(set STRIPE_ACCOUNT_ID\)<\/span> · <span class="warn">test and live<\/span>/,
    );
  });
});

describe('withStripeAccount', () => {
  it('files a Stripe event queued without an account under the named single account, and leaves every other event alone', () => {
    const legacy = stripeFixture('customer.updated');
    expect(eventIdentityKeys(legacy)).toContain('stripe:cus_TestAcme01');
    const filed = withStripeAccount(legacy, ACCT);
    expect(eventIdentityKeys(filed)).toContain(`stripe:${ACCT}:cus_TestAcme01`);
    expect(eventIdentityKeys(filed)).not.toContain('stripe:cus_TestAcme01');
    const other = { ...legacy, refs: { ...legacy.refs, stripeAccountId: 'acct_1Other' } };
    expect(withStripeAccount(other, ACCT)).toBe(other);
    expect(withStripeAccount(legacy, null)).toBe(legacy);
    const zendesk = zendeskFixture('organization.created');
    expect(withStripeAccount(zendesk, ACCT)).toBe(zendesk);
  });
});
