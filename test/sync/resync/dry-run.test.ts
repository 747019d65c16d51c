/** The dry run's report: a customer's diffs from several snapshots read as one. */
import { describe, expect, it } from 'vitest';
import { combineDiffs, type CustomerDiff } from '../../../src/sync/resync/dry-run.js';

const diff = (changes: CustomerDiff['changes']): CustomerDiff => ({
  customerId: 'cust_7f3a9c',
  ref: 'stripe:cus_Q8xLm2VbN4rT7a',
  changes,
});

describe('dry-run diffs of one customer', () => {
  it('keep what an earlier snapshot changed when a later one starts again from the stored record', () => {
    // stripe.customer changed the balance; by the time stripe.subscriptions was read, the customer had left the
    // working set, so the later diff starts from the stored record and knows nothing of the balance.
    const earlier = diff([{ field: 'billing.balance', from: 0, to: -2500 }]);
    const later = diff([{ field: 'billing.status', from: 'active', to: 'past_due' }]);
    expect(combineDiffs(earlier, later).changes).toEqual([
      { field: 'billing.balance', from: 0, to: -2500 },
      { field: 'billing.status', from: 'active', to: 'past_due' },
    ]);
  });

  it('take the first from and the last to of a field, and drop a field that comes back to where it was', () => {
    const a = diff([
      { field: 'billing.status', from: 'active', to: 'past_due' },
      { field: 'billing.plan', from: 'Growth', to: 'Scale' },
    ]);
    const b = diff([
      { field: 'billing.status', from: 'past_due', to: 'canceled' },
      { field: 'billing.plan', from: 'Scale', to: 'Growth' },
    ]);
    expect(combineDiffs(a, b).changes).toEqual([{ field: 'billing.status', from: 'active', to: 'canceled' }]);
  });
});
