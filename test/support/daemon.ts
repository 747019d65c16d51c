/**
 * Starts the real daemon (express app + BullMQ producer on real Redis) on an
 * ephemeral port with a test configuration, and captures its logs so that
 * tests can assert what is — and is never — logged.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { SOURCES } from '../../src/sync/events/source-event.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from './redis.js';

export const TEST_SECRETS = {
  STRIPE_WEBHOOK_SECRET: 'whsec_test_portal_sync_fixture_secret',
  ZENDESK_WEBHOOK_SECRET: 'zendesk_test_signing_secret_0123456789',
  SALESFORCE_ORG_ID: '00D5e000000TestAAA',
  SALESFORCE_OUTBOUND_TOKEN: 'sf_outbound_token_0123456789abcdef',
  SALESFORCE_WEBHOOK_SECRET: 'sf_json_hmac_secret_0123456789abcdef',
  PORTAL_EVENTS_SECRET: 'portal_events_secret_0123456789abcdef',
} as const;

export interface TestDaemon extends RunningDaemon {
  config: Config;
  logs: string[];
  prefix: string;
  stop(): Promise<void>;
}

export function testConfig(env: Record<string, string> = {}): Config {
  const result = loadConfig({
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: uniquePrefix(),
    PORT: '0',
    HOST: '127.0.0.1',
    ...TEST_SECRETS,
    ...env,
  });
  if (!result.ok) throw new Error(`test config invalid: ${result.problems.join('; ')}`);
  // Recorded fixtures keep the times they were written with, some of them weeks ahead of this machine's clock:
  // tests of other behaviour accept them. test/webhooks/event-time.int.test.ts runs with the shipped bounds.
  for (const source of SOURCES) result.config.webhooks.maxFutureSkewSeconds[source] = 400 * 86_400;
  return result.config;
}

export async function startTestDaemon(
  env: Record<string, string> = {},
  tweak: (c: Config) => void = () => undefined,
): Promise<TestDaemon> {
  const config = testConfig(env);
  // No scheduled reconcile passes in tests (they would read the stand-ins at a time of BullMQ's
  // choosing); tests that want one call reconciler.pass() or set reconcile.everyMs themselves.
  config.reconcile.everyMs = 0;
  tweak(config);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const daemon = await startDaemon(config, createLogger('debug', sink), { defaultMetrics: false });
  return {
    ...daemon,
    config,
    logs,
    prefix: config.redis.prefix,
    async stop() {
      await daemon.close();
      await deleteByPrefix(config.redis.url, config.redis.prefix);
    },
  };
}

/** A daemon for the tests of one file: started before them (handed to `opened`), stopped after them with its keys deleted. */
export function testDaemonForFile(
  opened: (daemon: TestDaemon) => void,
  env: Record<string, string> = {},
  tweak: (c: Config) => void = () => undefined,
): void {
  let daemon: TestDaemon | undefined;
  beforeAll(async () => {
    daemon = await startTestDaemon(env, tweak);
    opened(daemon);
  });
  afterAll(async () => {
    await daemon?.stop();
  });
}
