/**
 * Equal source versions with different data (Stripe's one-second timestamps):
 * never settled by arrival order — the worker asks the source API for the
 * current object and applies that. The refetcher here answers like the
 * Stripe API would; its SDK calls are tested in test/connectors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefetchTie } from '../../../src/connectors/refetch.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { startTestPipeline, type TestPipeline } from '../../support/pipeline.js';
import { sha256Hex, stableStringify } from '../../../src/sync/events/record.js';
import { until } from '../../support/e2e.js';
import { storesUnderPrefix, type OpenStore } from '../../support/store.js';
import { subscription } from './merge-events.js';

const asked: RefetchTie[] = [];
/** Objects whose next refetch fails as a 503 would (retryable): the job fails and is retried. */
const failOnce = new Set<string>();
let p: TestPipeline;
let bare: OpenStore;
storesUnderPrefix(1, ([s]) => {
  bare = s!;
});
const refs = (c: string) => ({ stripeCustomerId: c });
const sameSecond = (c: string, status: string, eventId: string): SourceEvent => ({
  ...subscription(`sub_${c}`, status, { version: 1_795_000_000_000, eventId }),
  refs: refs(c),
});

/** The two statuses in the order that stores the tie: the write with the greater content hash second. */
function winnerSecond(c: string): [string, string] {
  const hash = (e: SourceEvent) =>
    sha256Hex(stableStringify({ objectId: e.objectId, data: e.data, deleted: e.deleted }));
  return hash(sameSecond(c, 'past_due', 'x')) > hash(sameSecond(c, 'incomplete', 'x'))
    ? ['incomplete', 'past_due']
    : ['past_due', 'incomplete'];
}

beforeAll(async () => {
  p = await startTestPipeline(
    {},
    () => undefined,
    undefined,
    async (tie) => {
      asked.push(tie);
      if (failOnce.delete(tie.objectId))
        throw Object.assign(new Error('Stripe 503: Service Unavailable'), { retryable: true });
      // The API's answer: the subscription is active now.
      return {
        ...subscription(tie.objectId, 'active', {
          version: tie.version,
          eventId: `refetch-${tie.objectId}-${tie.version}`,
          origin: 'snapshot',
        }),
        refs: refs(tie.objectId.replace('sub_', '')),
      };
    },
  );
});
afterAll(async () => {
  await p.stop();
});

describe('equal-version ties', () => {
  it.each([
    ['past_due first', ['past_due', 'incomplete']],
    ['incomplete first', ['incomplete', 'past_due']],
  ])('are settled by the source API whatever the arrival order (%s)', async (_name, order) => {
    const c = `cus_tie_${order[0]}`;
    for (const [i, status] of order.entries()) {
      await p.daemon.ingestor.enqueue([sameSecond(c, status!, `evt_${c}_${i}`)]);
      await p.drain();
    }
    const record = await p.worker.store.findByKey(`stripe:${c}`);
    expect(record?.derived.billing?.status).toBe('active');
    expect(record?.stripe.subscriptions[`sub_${c}`]?.stamp).toMatchObject({ rank: 1, origin: 'refetch' });
    expect(asked.filter((t) => t.objectId === `sub_${c}`)).toEqual([
      { source: 'stripe', kind: 'stripe.subscription', objectId: `sub_${c}`, version: 1_795_000_000_000 },
    ]);
  });

  it('are settled on the retry when the first refetch failed, though the write that made the tie is stored by then', async () => {
    const c = 'cus_tie_retry';
    // The tie keeps the write with the greater content hash: send that one second, so the first attempt stores it
    // and its retry finds nothing tied any more.
    const order = winnerSecond(c);
    await p.daemon.ingestor.enqueue([sameSecond(c, order[0]!, `evt_${c}_0`)]);
    await p.drain();
    failOnce.add(`sub_${c}`);
    await p.daemon.ingestor.enqueue([sameSecond(c, order[1]!, `evt_${c}_1`)]);
    const settled = await until(
      'the tie settled',
      async () => {
        const record = await p.worker.store.findByKey(`stripe:${c}`);
        return record?.derived.billing?.status === 'active' ? record : undefined;
      },
      15_000,
    );
    expect(settled.stripe.subscriptions[`sub_${c}`]?.stamp).toMatchObject({ rank: 1, origin: 'refetch' });
    expect(asked.filter((t) => t.objectId === `sub_${c}`)).toHaveLength(2);
    expect(await p.daemon.redis.hexists(p.worker.store.tiesKey, `stripe|stripe.subscription|sub_${c}`)).toBe(0);
  });
});

describe('the apply of a refetched object', () => {
  it('takes the stored tie out in its own transaction, so the settled record is never seen with the tie pending', async () => {
    const c = 'cus_tie_atomic';
    const field = `stripe|stripe.subscription|sub_${c}`;
    const [first, second] = winnerSecond(c);
    await bare.store.apply(sameSecond(c, first, `evt_${c}_0`));
    const tiedEvent = sameSecond(c, second, `evt_${c}_1`);
    const tied = await bare.store.apply(tiedEvent);
    expect(tied.tie).toMatchObject({ version: 1_795_000_000_000, rank: 1 });
    expect(await bare.redis.hget(bare.store.tiesKey, field)).toBe('1795000000000');

    const fresh: SourceEvent = {
      ...subscription(`sub_${c}`, 'active', { version: 1_795_000_000_000, eventId: 'refetch', origin: 'snapshot' }),
      refs: refs(c),
    };
    const settled = await bare.store.apply(fresh, { rank: tied.tie!.rank, settlesTie: tiedEvent });
    expect(settled.record.derived.billing?.status).toBe('active');
    expect(await bare.redis.hexists(bare.store.tiesKey, field)).toBe(0);
  });

  it('leaves a tie it does not settle where it is', async () => {
    const c = 'cus_tie_kept';
    const field = `stripe|stripe.subscription|sub_${c}`;
    const [first, second] = winnerSecond(c);
    await bare.store.apply(sameSecond(c, first, `evt_${c}_0`));
    await bare.store.apply(sameSecond(c, second, `evt_${c}_1`));
    await bare.store.apply({
      ...subscription(`sub_${c}`, 'active', { version: 1_795_000_001_000, eventId: `evt_${c}_2` }),
      refs: refs(c),
    });
    expect(await bare.redis.hexists(bare.store.tiesKey, field)).toBe(1);
  });
});
