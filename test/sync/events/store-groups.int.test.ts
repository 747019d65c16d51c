/**
 * The record store's applies that run at once share their transactions (watch-group.ts): a realistic stream
 * of many customers (merges, identity conflicts, bursts) applied all at once must give the very records that
 * applying it one event at a time gives, in fewer transactions than events.
 */
import { describe, expect, it } from 'vitest';
import { RecordStore } from '../../../src/sync/events/store.js';
import type { CustomerRecord } from '../../../src/sync/events/record.js';
import { mixedStream, toSourceEvent } from '../../../bench/lib/fixtures.js';
import { customer, invoice, organization } from './merge-events.js';
import { redisUnderPrefix } from '../../support/redis.js';

const { prefix: together, redis } = redisUnderPrefix();
const { prefix: oneByOne } = redisUnderPrefix();
const { prefix: twoKeys } = redisUnderPrefix();

/** A record as the customer's data says it, whatever id the store gave it. */
const content = (r: CustomerRecord | null): unknown =>
  JSON.parse(
    JSON.stringify(r, (k, v: unknown) => (k === 'id' && typeof v === 'string' && v.startsWith('cust_') ? '<id>' : v)),
  );

describe('record store applying many customers at once', () => {
  it('loses neither of two events that reach one record by different keys in one shared transaction', async () => {
    const refs = { stripeCustomerId: 'cus_two_keys', zendeskOrganizationId: '7107' };
    const setup = new RecordStore(redis(), twoKeys);
    const linked = await setup.apply({ ...customer({ version: 1_000 }), objectId: 'cus_two_keys', refs });
    setup.close();
    for (let round = 0; round < 5; round++) {
      // A store that has not seen the customer yet (a new process): no lock or guess joins the two events,
      // so both read the record in one group and both would write it.
      const fresh = new RecordStore(redis(), twoKeys);
      const v = 2_000 + round * 10;
      const [a, b] = await Promise.all([
        fresh.apply({
          ...invoice(`in_two_keys_${round}`, 'open', { version: v }),
          refs: { stripeCustomerId: 'cus_two_keys' },
        }),
        fresh.apply({
          ...organization({ version: v + 1 }, `Org round ${round}`),
          objectId: '7107',
          refs: { zendeskOrganizationId: '7107' },
        }),
      ]);
      fresh.close();
      expect([a.recordId, b.recordId]).toEqual([linked.recordId, linked.recordId]);
      const stored = await new RecordStore(redis(), twoKeys).getFull(linked.recordId);
      expect(Object.keys(stored!.stripe.invoices)).toContain(`in_two_keys_${round}`);
      expect(stored!.zendesk.organization?.stamp.version).toBe(v + 1);
    }
  });

  it('stores what one-at-a-time applies store, in fewer transactions than events', async () => {
    const events = mixedStream(900, 60, { seed: 11, conflictEvery: 7 }).map(toSourceEvent);
    const sequential = new RecordStore(redis(), oneByOne);
    for (const e of events) await sequential.apply(e);
    sequential.close();

    const store = new RecordStore(redis(), together);
    // In order per customer, many customers at once: like a worker of concurrency 16 (a customer's burst may interleave).
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < events.length) await store.apply(events[next++]!);
      }),
    );
    const stats = store.transactionStats;
    store.close();
    expect(stats.transactions).toBeLessThan(stats.committed);

    const ids = await redis().smembers(`${oneByOne}:customers`);
    expect(ids.length).toBeGreaterThan(40);
    expect(await redis().scard(`${together}:customers`)).toBe(ids.length);
    const reader = new RecordStore(redis(), oneByOne);
    const other = new RecordStore(redis(), together);
    for (const id of ids) {
      const keys = (await reader.systemKeys(id)).filter((k) => k.startsWith('stripe:'));
      expect(keys.length).toBeGreaterThan(0);
      const mine = await reader.getFull(id);
      const theirs = await other.findByKey(keys[0] as Parameters<RecordStore['findByKey']>[0], { trusted: true });
      expect(content(theirs)).toEqual(content(mine));
    }
  }, 60_000);
});
