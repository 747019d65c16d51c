/**
 * Read commands never write: `status`, `dlq list` and `report deflection` under a prefix that holds
 * nothing leave the keyspace as it was, and say that nothing is there (exit 1) instead of a healthy zero.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuarantineStore } from '../../src/sync/events/quarantine.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');
const prefix = uniquePrefix();
const withData = uniquePrefix();
let redis: Redis;

function runCli(args: string[], under = prefix) {
  const r = spawnSync(process.execPath, cliArgv(args), {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: under,
      PORTAL_TARGET: 'zendesk',
      ZENDESK_SUBDOMAIN: 'acme',
      ZENDESK_EMAIL: 'ops@acme.example',
      ZENDESK_API_TOKEN: 'zd_token_0123456789abcdef',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function keysUnder(p: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  redis.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
  await deleteByPrefix(redisUrl(), withData);
});

describe('read commands under a prefix that holds nothing', () => {
  it.each([
    [['status']],
    [['status', '--json']],
    [['dlq', 'list']],
    [['dlq', 'list', '--json']],
    [['report', 'deflection']],
  ])(
    '`portal-sync %s` creates no key, says no data is there and exits 1',
    async (args) => {
      const r = runCli(args);
      expect(await keysUnder(prefix)).toEqual([]);
      expect(r.stderr).toBe(`portal-sync: no portal-sync data under prefix ${prefix} (is REDIS_PREFIX right?)\n`);
      expect(r.stdout).toBe('');
      expect(r.code).toBe(1);
    },
    60_000,
  );
});

describe('read commands under a prefix with data', () => {
  it('`status`, `dlq list` and `report deflection` leave the keyspace exactly as it was', async () => {
    // Any one key is "portal-sync data": here a quarantined payload, as a receiver stores it.
    await new QuarantineStore(redis, withData, { maxEntries: 10, maxBytes: 1_048_576 }).put({
      source: 'stripe',
      eventId: 'evt_1',
      reason: 'bad',
      contentType: 'application/json',
      body: '{}',
    });
    const before = await keysUnder(withData);
    for (const args of [['status'], ['dlq', 'list'], ['report', 'deflection']]) {
      const r = runCli(args, withData);
      expect(r.stderr).toBe('');
      expect(await keysUnder(withData), `after ${args.join(' ')}`).toEqual(before);
    }
  }, 180_000);
});
