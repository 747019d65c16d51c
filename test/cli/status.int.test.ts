/**
 * `status` and the dashboard on the real Redis, for what an admin asks during a resync or a rate limit:
 * how many customers wait for a bulk call, and whether a push queue is paused and for how long.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatus } from '../../src/sync/admin/status.js';
import { statusText } from '../../src/cli/status.js';
import { loadConfig, type Config } from '../../src/config.js';
import { queueForBulk } from '../../src/sync/push/bulk.js';
import { renderDashboardHtml } from '../../src/webhooks/admin/dashboard.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { REDIS_KEYS } from '../../src/sync/redis/keys.js';

const prefix = uniquePrefix();
let redis: Redis;
let config: Config;

beforeAll(() => {
  redis = new Redis(redisUrl());
  const loaded = loadConfig({
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    PORTAL_TARGET: 'zendesk',
    ZENDESK_SUBDOMAIN: 'acme',
    ZENDESK_EMAIL: 'ops@acme.example',
    ZENDESK_API_TOKEN: 'zd_token_0123456789abcdef',
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  config = loaded.config;
});
afterAll(async () => {
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('status', () => {
  it('shows customers waiting for bulk resync calls and a push queue paused by a rate limit', async () => {
    const now = Date.now();
    await queueForBulk(redis, prefix, 'zendesk', ['cust_1', 'cust_2'], [], now - 42_000);
    await redis.zadd(REDIS_KEYS.bulk(prefix, 'zendesk').claimed, String(now + 60_000), 'cust_3');
    // What Worker.rateLimit does when Zendesk answers 429 with Retry-After: 30.
    const queue = new Queue('push-zendesk', { connection: redis, prefix });
    await redis.set(`${prefix}:push-zendesk:limiter`, String(Number.MAX_SAFE_INTEGER), 'PX', 30_000);

    const status = await readStatus(redis, config);
    expect(status.bulk).toEqual({ zendesk: { pending: 2, inFlight: 1, oldestSeconds: expect.any(Number) } });
    expect(status.bulk['zendesk']!.oldestSeconds).toBeGreaterThanOrEqual(42);
    expect(status.queues['push-zendesk']!.rateLimitedForSeconds).toBeGreaterThan(25);
    expect(status.queues['events']!.rateLimitedForSeconds).toBe(0);

    const text = statusText(status, prefix);
    expect(text).toMatch(/push-zendesk .*PAUSED by a rate limit for \d+s more/);
    expect(text).toMatch(/resync pushes to zendesk: 2 customers waiting for a bulk call \(oldest \d+s\), 1 in flight/);

    const html = renderDashboardHtml({
      generatedAt: new Date(),
      queues: Object.entries(status.queues).map(([name, q]) => ({ name, ...q })),
      deadLetters: { total: 0, first: [] },
      quarantined: 0,
      conflicts: { total: 0, first: [] },
      events: { rows: [], windowSeconds: 60 },
      lastReconcile: null,
      subscriptions: [],
      bulk: status.bulk,
    });
    expect(html).toMatch(/zendesk: 2 customers waiting \(oldest \d+s\), 1 in flight/);
    await queue.close();
  });
});
