/**
 * A reconcile pass in which a source failed is never "no drift": the CLI exits non-zero and prints the
 * platform's answer, `status` names the failed source, the log has an error, and /metrics counts it.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startStripeStandIn, type StripeStandIn } from '../../src/demo/standins/stripe/index.js';
import { Reconciler } from '../../src/sync/resync/reconcile.js';
import { createEventsQueue } from '../../src/sync/events/queue.js';
import { RecordStore } from '../../src/sync/events/store.js';
import { Ingestor } from '../../src/sync/events/ingest.js';
import { PageReadError } from '../../src/sync/errors.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');
const prefix = uniquePrefix();
let stripe: StripeStandIn;

/** Asynchronous: the Stripe stand-in answers from this process. */
function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, cliArgv(args), {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

beforeAll(async () => {
  stripe = await startStripeStandIn({});
});
afterAll(async () => {
  await stripe?.close();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('portal-sync reconcile when a source fails', () => {
  it(
    'exits 1 with the platform\'s 401, and `status` then says "stripe: FAILED 401 …" instead of a clean drift 0',
    { timeout: 120_000 },
    async () => {
      const refused = { ...stripe.env, STRIPE_SECRET_KEY: 'sk_test_not_the_right_key_0000' };
      const r = await runCli(['reconcile'], refused);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^ {2}stripe: FAILED 401 .*Invalid API Key/m);
      const s = await runCli(['status'], refused);
      expect(s.stdout).toMatch(/^ {2}last reconcile: .* a source FAILED/m);
      expect(s.stdout).toMatch(/^ {4}stripe: FAILED 401 .*Invalid API Key/m);
    },
  );

  it(
    'exits 1 when no source is configured: a pass that read nothing checked nothing',
    { timeout: 60_000 },
    async () => {
      const r = await runCli(['reconcile'], {});
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /^portal-sync: no source to reconcile: configure STRIPE_SECRET_KEY \(or secretKeyEnv of an entry of stripe.accounts\), or /,
      );
      for (const name of ['SALESFORCE_CLIENT_ID', 'ZENDESK_API_TOKEN']) expect(r.stderr).toContain(name);
    },
  );
});

describe('a reconcile pass in which a source failed', () => {
  let daemon: TestDaemon;
  let redis: Redis;
  beforeAll(async () => {
    daemon = await startTestDaemon();
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await daemon.stop();
  });

  it('is an error in the log naming the source, never "found no drift", and shows on /metrics until a pass reads it', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString('utf8')), done()) });
    const p = daemon.prefix;
    const queue = createEventsQueue(redis, p);
    let fail = true;
    const reconciler = new Reconciler({
      redis,
      prefix: p,
      store: new RecordStore(redis, p),
      queue,
      ingestor: new Ingestor({
        redis,
        queue,
        prefix: p,
        dedupeTtlSeconds: 60,
        quarantineLimits: { maxEntries: 10, maxBytes: 1_048_576 },
        timeoutMs: 5000,
      }),
      streams: {
        stripe: async () => [
          {
            name: 'stripe.customers',
            source: 'stripe' as const,
            page: async () => {
              if (fail)
                throw new PageReadError('stripe', {
                  retryable: false,
                  status: 401,
                  message: 'Stripe 401 api_key_invalid: Invalid API Key provided',
                });
              return { events: [], read: 0, next: null, rejected: [] };
            },
          },
        ],
      },
      settings: { overlapMs: 1000, firstLookbackMs: 60_000 },
      logger: createLogger('info', sink),
    });
    const report = await reconciler.pass();
    expect(report.sources.stripe?.error).toMatch(/401/);
    const logged = lines.map((l) => JSON.parse(l) as { level: string; msg: string; source?: string });
    expect(logged.some((l) => l.msg.includes('found no drift'))).toBe(false);
    expect(logged.find((l) => l.level === 'error' && l.source === 'stripe')?.msg).toMatch(/reconcile .*failed/);
    expect(logged.find((l) => l.msg.startsWith('reconcile pass'))).toMatchObject({ level: 'error' });

    const metrics = async () => (await fetch(`${daemon.url}/metrics`)).text();
    expect(await metrics()).toMatch(/^portal_sync_reconcile_source_failed\{source="stripe"\} 1$/m);
    fail = false;
    await reconciler.pass();
    expect(await metrics()).toMatch(/^portal_sync_reconcile_source_failed\{source="stripe"\} 0$/m);
    await queue.close();
  });
});
