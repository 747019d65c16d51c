/**
 * The quarantine at scale: lists and the dashboard read reasons, never bodies; bytes are capped, and what
 * is evicted to stay within the cap is counted where an operator looks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuarantineStore } from '../../src/sync/events/quarantine.js';
import { signHmac } from '../../src/webhooks/hmac.js';
import { startTestDaemon, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { metricValue, post } from '../support/http.js';

const ADMIN_TOKEN = 'admin_token_for_quarantine_0123456789';
const MiB = 1_048_576;
let daemon: TestDaemon;

beforeAll(async () => {
  daemon = await startTestDaemon({ ADMIN_TOKEN }, (c) => {
    c.quarantine.maxBytes = 2 * MiB;
  });
});
afterAll(async () => {
  await daemon.stop();
});

const big = (n: number, bytes: number) =>
  JSON.stringify({
    id: `big-${n}`,
    type: 'teleport',
    occurred_at: '2026-11-20T10:00:00Z',
    contact: { email: 'q@example.com' },
    pad: 'x'.repeat(bytes),
  });

describe('the quarantine', () => {
  it('a dashboard view with many large quarantined bodies reads no body: what it reads from Redis stays far below one body', async () => {
    await daemon.ingestor.purgeQuarantine();
    // 30 entries of 300 KiB each, put straight into the store (well over maxBytes: the store keeps what fits).
    const store = new QuarantineStore(daemon.redis, daemon.prefix, { maxEntries: 10_000, maxBytes: 1024 * MiB });
    for (let i = 0; i < 30; i++)
      await store.put({
        source: 'portal',
        eventId: `big-${i}`,
        reason: `big ${i} failed`,
        contentType: 'application/json',
        body: big(i, 300 * 1024),
      });
    const before = daemon.redis.stream.bytesRead;
    const res = await fetch(`${daemon.url}/admin`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    const html = await res.text();
    const read = daemon.redis.stream.bytesRead - before;
    expect(html).toContain('big 29 failed'); // the newest reasons are shown
    expect(html).toMatch(/1–20 of 30/);
    expect(html).toContain('href="/admin?letters=20#d"');
    expect(read).toBeLessThan(300 * 1024);
    // The next page shows the older ones.
    const older = await (
      await fetch(`${daemon.url}/admin?letters=20`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    expect(older).toContain('big 9 failed');
    expect(older).not.toContain('big 29 failed');
    await daemon.ingestor.purgeQuarantine();
  });

  it('past quarantine.maxBytes the oldest entries are evicted and counted, never silently', async () => {
    await daemon.ingestor.purgeQuarantine();
    const evictedBefore = await metricValue(daemon, 'portal_sync_quarantine_evicted_total', {});
    for (let i = 0; i < 4; i++) {
      const body = big(i, 700 * 1024);
      const res = await post(daemon, '/events/portal', body, {
        'x-portal-sync-signature': signHmac(body, TEST_SECRETS.PORTAL_EVENTS_SECRET),
      });
      expect(res.status).toBe(202);
    }
    const stats = await daemon.ingestor.quarantined.stats();
    expect(stats.bytes).toBeLessThanOrEqual(2 * MiB);
    expect(stats.entries).toBe(2);
    expect(stats.evicted).toBe(2);
    expect((await daemon.ingestor.listQuarantine()).map((q) => q.eventId)).toEqual(['big-3', 'big-2']);
    expect((await metricValue(daemon, 'portal_sync_quarantine_evicted_total', {})) - evictedBefore).toBe(2);
    expect(daemon.logs.join('')).toMatch(/quarantine full: oldest entries evicted/);
    const html = await (
      await fetch(`${daemon.url}/admin`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    expect(html).toMatch(/2 evicted/);
    await daemon.ingestor.purgeQuarantine();
  });

  it('entries kept whole by an earlier release are moved to the split layout when the daemon starts, and stay replayable', async () => {
    await daemon.ingestor.purgeQuarantine();
    const old = {
      id: 'legacy-q-1',
      source: 'portal',
      eventId: 'pe-legacy',
      reason: 'old reason',
      receivedAt: '2026-11-01T00:00:00.000Z',
      contentType: 'application/json',
      body: '{"id":"pe-legacy"}',
    };
    await daemon.redis.lpush(daemon.ingestor.quarantined.keys.legacyList, JSON.stringify(old));
    await daemon.ingestor.quarantined.migrateLegacy(); // what startDaemon does
    const { body: _body, ...meta } = old;
    expect(await daemon.ingestor.listQuarantine()).toEqual([{ ...meta, bytes: 18 }]);
    expect(await daemon.ingestor.getQuarantined('legacy-q-1')).toMatchObject({ body: '{"id":"pe-legacy"}' });
    expect(await daemon.redis.exists(daemon.ingestor.quarantined.keys.legacyList)).toBe(0);
    await daemon.ingestor.purgeQuarantine();
  });
});
