/**
 * A push's progress on the real Redis: what a next try may skip. A call counts as done only against the
 * accepted state its push was diffed from, only while it is the last call written to its place, only while
 * no other writer of the customer (another push try, a bulk drain) has started since it was recorded, and
 * not once the push was accepted.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { callKey } from '../../../src/sync/push/portal-target.js';
import { markWriters, progressKey, startTry, writerKey } from '../../../src/sync/push/progress.js';
import { REDIS_KEYS } from '../../../src/sync/redis/keys.js';
import { runScript } from '../../../src/sync/redis/scripts.js';
import { redisUnderPrefix } from '../../support/redis.js';

const { prefix, redis } = redisUnderPrefix();
const log = createLogger('silent');

const keysOf = (customer: string) => ({
  progress: progressKey(prefix, 'zendesk', customer),
  writer: writerKey(prefix, 'zendesk', customer),
});
/** A try of a push of `customer` prepared against `base`, as the push worker starts one. */
const tryOf = (customer: string, base = 'base-1') => startTry(redis(), keysOf(customer), base, log);
const fields = (status: string) => callKey('fields:organization:42', { billing_status: status });
const invoice = callKey('invoice:in_1', { name: 'in_1', custom_object_fields: { invoice_status: 'open' } });
const status = callKey('status:organization-42', { custom_object_fields: { open_invoices: 1 } });

describe('push progress', () => {
  it("is what the push's next try finds, for a day; the writer token stays 30 days", async () => {
    const first = await tryOf('c1');
    expect([...first.done]).toEqual([]);
    first.onDone(fields('active'), invoice);

    const next = await tryOf('c1');
    expect(next.done).toEqual(new Set([fields('active'), invoice]));
    const { progress, writer } = keysOf('c1');
    expect(await redis().pttl(progress)).toBeGreaterThan(23 * 3600_000);
    expect(await redis().pttl(writer)).toBeGreaterThan(29 * 24 * 3600_000);
  });

  it('tells the try after the progress expired that a writer stopped before its accept: it writes everything', async () => {
    (await tryOf('c1x')).onDone(fields('active'));
    await redis().del(keysOf('c1x').progress); // a day later: the progress is gone, the writer token is not

    const late = await tryOf('c1x');
    expect(late.unfinished).toBe(true);
    expect(late.done.size).toBe(0);
  });

  it('counts for nothing once another state was accepted than the one the push was diffed from', async () => {
    (await tryOf('c2', 'base-1')).onDone(fields('active'));

    expect((await tryOf('c2', 'base-2')).done.size).toBe(0);
  });

  it('keeps only the content written last to a place: an older write there must be made again', async () => {
    const first = await tryOf('c3');
    first.onDone(fields('active'));
    first.onDone(fields('past_due'));

    expect((await tryOf('c3')).done).toEqual(new Set([fields('past_due')]));
  });

  it('counts for nothing once another push try of the customer has started since, though that try recorded nothing (killed after its call)', async () => {
    (await tryOf('c4')).onDone(fields('active'), invoice);
    await tryOf('c4'); // another push of the customer: sets its token, writes, dies before recording anything

    expect((await tryOf('c4')).done.size).toBe(0);
    expect(await redis().exists(keysOf('c4').progress)).toBe(0);
  });

  it("counts for nothing once a bulk drain has written the customer since, and another customer's progress still counts", async () => {
    (await tryOf('c5')).onDone(fields('active'), invoice);
    (await tryOf('c5-other')).onDone(invoice);
    await markWriters(redis(), prefix, 'zendesk', ['c5']);

    expect((await tryOf('c5')).done.size).toBe(0);
    expect((await tryOf('c5-other')).done).toEqual(new Set([invoice]));
  });

  it("marks a drain's customers as written by it, and tells it which ones a writer left unfinished", async () => {
    await tryOf('c5-left'); // a push try that never reached its accept
    const drain = await markWriters(redis(), prefix, 'zendesk', ['c5-new', 'c5-left']);

    expect(await redis().get(keysOf('c5-new').writer)).toBe(drain.token);
    expect(drain.unfinished).toEqual(new Set(['c5-left']));
    // The drain did not reach its accept either: the next try writes everything.
    expect((await tryOf('c5-new')).unfinished).toBe(true);
  });

  it('tells a try to write everything while a writer stopped between its first call and its accept, and not after an accept', async () => {
    const { progress, writer } = keysOf('d1');
    const accepted = REDIS_KEYS.push(prefix).accepted('zendesk', 'd1');
    const accept = (token: string) =>
      runScript(redis(), 'push-accept-over', [accepted, progress, writer], ['', '{"hash":"a"}', token]);

    const first = await tryOf('d1');
    expect(first.unfinished).toBe(false); // never written
    await accept(first.token);
    expect(await redis().exists(writer)).toBe(0);

    const second = await tryOf('d1', '');
    expect(second.unfinished).toBe(false); // the last writer accepted
    // second fails after a call; the retry writes everything
    const retry = await tryOf('d1', '');
    expect(retry.unfinished).toBe(true);
  });

  it("keeps the token of a writer that started later when an earlier one accepts: the later one's writes are not accounted for", async () => {
    const { progress, writer } = keysOf('d2');
    const accepted = REDIS_KEYS.push(prefix).accepted('zendesk', 'd2');
    const earlier = await tryOf('d2', '');
    const later = await tryOf('d2', ''); // another writer of the customer starts, and is killed
    await runScript(redis(), 'push-accept-over', [accepted, progress, writer], ['', '{"hash":"e"}', earlier.token]);

    expect(await redis().get(writer)).toBe(later.token);
    expect((await tryOf('d2')).unfinished).toBe(true);
  });

  it('does not count a call recorded by a try after another writer had started', async () => {
    const first = await tryOf('c6');
    await tryOf('c6'); // another writer starts while the first try's call is on its way
    first.onDone(fields('active')); // ... and the first try records it late

    expect((await tryOf('c6')).done.size).toBe(0);
  });

  it('carries a call to a third try only when the second kept it and said so: one it wrote over and did not record is made again', async () => {
    (await tryOf('c7')).onDone(fields('active'), invoice, status);
    const second = await tryOf('c7');
    expect(second.done).toEqual(new Set([fields('active'), invoice, status]));
    // The second try keeps the invoice and the status record; it writes other fields and dies before recording them.
    second.onDone(invoice, status);

    expect((await tryOf('c7')).done).toEqual(new Set([invoice, status]));
  });

  it('is deleted with the accepted state stored, and when another push was accepted meanwhile', async () => {
    for (const [customer, current, over] of [
      ['c8', null, ''],
      ['c9', '{"hash":"other"}', ''],
    ] as const) {
      const { progress } = keysOf(customer);
      const accepted = REDIS_KEYS.push(prefix).accepted('zendesk', customer);
      if (current !== null) await redis().set(accepted, current);
      const t = await tryOf(customer, over);
      t.onDone(invoice);

      await runScript(
        redis(),
        'push-accept-over',
        [accepted, progress, keysOf(customer).writer],
        [over, '{"hash":"new"}', t.token],
      );
      expect(await redis().exists(progress)).toBe(0);
    }
  });
});
