/**
 * `portal-sync webhooks …` as an operator runs it, against a real Redis:
 * JSON shapes, exit codes (0 ok, 1 failure, 2 bad usage) and one-line errors.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundEventId } from '../../src/sync/outbound/derive.js';
import { OutboundStore } from '../../src/sync/outbound/store.js';
import type { OutboundEvent } from '../../src/sync/outbound/types.js';
import { freePort } from '../support/e2e.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { newSecret, startConsumer, type Consumer } from './support/consumer.js';
import { FAST_OUTBOUND, outboundEnv } from './support/setup.js';
import { cliArgv } from '../support/cli.js';

/** Each test starts the CLI several times (about a second each, more on a loaded 2-core machine). */
const CLI_TEST_TIMEOUT_MS = 90_000;

const root = resolve(import.meta.dirname, '../..');
const prefix = uniquePrefix();
const secret = newSecret();
let consumer: Consumer;
let env: Record<string, string>;
let redis: Redis;
const since = new Date(Date.now() - 60_000).toISOString();

/** Runs the CLI without blocking this process: the consumer answering it lives here. */
function cli(
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; json: () => any }> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      cliArgv(['webhooks', ...args]),
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, ...extra },
        encoding: 'utf8',
        timeout: 80_000, // a CLI process on a loaded machine; the test itself is bounded by CLI_TEST_TIMEOUT_MS
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return fail(err);
        done({ code: err ? (err.code as number) : 0, stdout, stderr, json: () => JSON.parse(stdout) });
      },
    );
  });
}

const event = (type: OutboundEvent['type'], version: number): OutboundEvent => ({
  id: outboundEventId('cust_cli1', version, type, ''),
  type,
  timestamp: new Date().toISOString(),
  data: {
    customer: {
      id: 'cust_cli1',
      version,
      links: { stripeCustomerId: 'cus_cli1', salesforceAccountId: null, zendeskOrganizationId: null },
    },
  },
});

beforeAll(async () => {
  consumer = await startConsumer(secret);
  env = {
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    ...outboundEnv([
      { id: 'hooks-cli', url: `${consumer.url}?token=s3cr3t-query-token`, secret },
      { id: 'second', url: consumer.url, secret, events: ['invoice.available'] },
    ]),
  };
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  // Three events the worker recorded for one customer and queued to hooks-cli (no worker runs here).
  const store = new OutboundStore(redis, prefix, FAST_OUTBOUND);
  await store.emit({
    customerId: 'cust_cli1',
    events: [event('customer.created', 1), event('customer.updated', 2), event('invoice.available', 2)].map((e) => ({
      event: e,
      subscriptions: ['hooks-cli'],
    })),
    now: Date.now(),
  });
});

afterAll(async () => {
  redis?.disconnect();
  await consumer?.close();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('portal-sync webhooks', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('list --json: every subscription, its URL without secrets, and its state', async () => {
    const r = await cli(['list', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [first, second] = r.json();
    expect(first).toEqual({
      id: 'hooks-cli',
      url: `${consumer.url}?token=***`,
      events: ['*'],
      requires: [],
      timeoutMs: 10_000,
      queue: 'outbound-hooks-cli',
      state: {
        id: 'hooks-cli',
        paused: false,
        pausedAt: null,
        pausedReason: null,
        failingSince: null,
        lastSuccessAt: null,
        lastFailureAt: null,
        lastError: null,
        pending: 3,
        customersWaiting: 1,
      },
    });
    expect(second).toMatchObject({ id: 'second', events: ['invoice.available'], state: { pending: 0 } });
    expect(r.stdout).not.toContain('s3cr3t');
  });

  it('test: sends a signed webhook.test now, exit 0 on a 2xx; deliveries shows the attempt', async () => {
    const r = await cli(['test', 'hooks-cli', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({
      subscription: 'hooks-cli',
      ok: true,
      status: 204,
      eventId: expect.stringMatching(/^evt_test_/),
    });
    expect(consumer.received.at(-1)).toMatchObject({
      type: 'webhook.test',
      body: { data: { subscription: 'hooks-cli' } },
    });
    expect(consumer.rejected).toEqual([]);
    const d = await cli(['deliveries', 'hooks-cli', '--json']);
    expect(d.code).toBe(0);
    expect(d.json()).toEqual([
      {
        at: expect.any(String),
        eventId: r.json().eventId,
        type: 'webhook.test',
        customerId: null,
        outcome: 'delivered',
        status: 204,
        latencyMs: expect.any(Number),
      },
    ]);
    expect((await cli(['deliveries', 'hooks-cli', '--failed', '--json'])).json()).toEqual([]);
  });

  it('test: exit 1 with one line when the subscriber does not answer 2xx; deliveries --failed shows it', async () => {
    consumer.behave(() => ({ status: 503 }));
    const r = await cli(['test', 'hooks-cli']);
    consumer.behave(() => ({ status: 204 }));
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toMatch(/^hooks-cli: failed after \d+ ms: HTTP 503: consumer says no$/);
    const failed = (await cli(['deliveries', 'hooks-cli', '--failed', '--json'])).json();
    expect(failed).toEqual([
      expect.objectContaining({ outcome: 'failed', status: 503, error: 'HTTP 503: consumer says no' }),
    ]);
    const text = await cli(['deliveries', 'hooks-cli']);
    expect(text.stdout.split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('pause and replay: paused shows in list; replay resumes and queues what was not waiting already', async () => {
    const paused = await cli(['pause', 'hooks-cli', '--reason', 'consumer migration', '--json']);
    expect(paused.code).toBe(0);
    expect(paused.json()).toMatchObject({ id: 'hooks-cli', paused: true, pausedReason: 'consumer migration' });
    expect((await cli(['list'])).stdout).toMatch(/hooks-cli[\s\S]*PAUSED since .* \(consumer migration\)/);

    const r = await cli(['replay', 'hooks-cli', '--since', since, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ subscription: 'hooks-cli', since, matched: 3, queued: 0, customers: 1, resumed: true });
    const other = await cli(['replay', 'second', '--since', '1h', '--json']);
    expect(other.json()).toMatchObject({ subscription: 'second', matched: 1, queued: 1, customers: 1, resumed: false });
    const waiting = async (queue: string) =>
      Number((await redis.llen(`${prefix}:${queue}:wait`)) + (await redis.zcard(`${prefix}:${queue}:delayed`)));
    expect(await waiting('outbound-hooks-cli')).toBe(1);
    expect(await waiting('outbound-second')).toBe(1);
    const list = (await cli(['list', '--json'])).json();
    expect(list.map((l: any) => [l.id, l.state.paused, l.state.pending])).toEqual([
      ['hooks-cli', false, 3],
      ['second', false, 1],
    ]);
    const resumed = await cli(['resume', 'second', '--json']);
    expect(resumed.json()).toEqual({ subscription: 'second', resumed: false, customersWaiting: 1 });
  });

  it('refuses bad usage with exit 2 and one line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['test', 'nope'],
        /^portal-sync: no subscription "nope" in the configuration; `portal-sync webhooks list` shows them$/,
      ],
      [
        ['replay', 'hooks-cli', '--since', 'last tuesday'],
        /^portal-sync: --since: expected a span back from now \(24h, 7d, 2w\) or an ISO date/,
      ],
      [['deliveries', 'hooks-cli', '--limit', '0'], /^portal-sync: --limit must be a whole number/],
      [['replay', 'hooks-cli'], /required option '--since <when>' not specified/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    cases.forEach(([args, message], i) => {
      expect(results[i]!.code, args.join(' ')).toBe(2);
      expect(results[i]!.stderr.split('\n')[0], args.join(' ')).toMatch(message);
    });
  });

  it('says when Redis cannot be reached, with exit 1', async () => {
    const r = await cli(['list'], { REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^portal-sync: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/?: .*; check REDIS_URL$/,
    );
  });

  it('names a missing secret variable in config problems, with exit 2', async () => {
    const r = await cli(['list'], { TEST_SUBSCRIBER_SECRET_0: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TEST_SUBSCRIBER_SECRET_0: required by subscription hooks-cli');
    expect(r.stderr).not.toContain(secret.slice(6));
  });

  it('explains itself with examples', async () => {
    const subs = [[], ['list'], ['test'], ['deliveries'], ['replay'], ['pause'], ['resume']];
    // One after another: seven CLI processes started at once on a loaded 2-core machine outran the per-call timeout.
    for (const sub of subs) {
      const r = await cli([...sub, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Examples?:\n {2}\$ portal-sync webhooks/);
    }
  });
});
