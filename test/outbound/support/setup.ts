/** Subscriptions for a test pipeline, the way an operator writes them: a YAML override and a secret in the environment. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface TestSubscription {
  id: string;
  url: string;
  secret: string;
  events?: string[];
  requires?: string[];
  timeoutMs?: number;
}

/** Short waits, so that retries, pauses and backoffs happen within a test. */
export const FAST_OUTBOUND = {
  concurrency: 8,
  backoffMs: 20,
  maxBackoffMs: 200,
  pauseAfterMs: 60_000,
  retentionMs: 3_600_000,
  attemptsKept: 1000,
};

export function outboundEnv(
  subs: TestSubscription[],
  outbound: Partial<typeof FAST_OUTBOUND> = {},
): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'portal-sync-outbound-'));
  const file = join(dir, 'subscriptions.yaml');
  const env: Record<string, string> = { PORTAL_SYNC_CONFIG: file };
  const yaml = {
    outbound: { ...FAST_OUTBOUND, ...outbound },
    subscriptions: subs.map((s, i) => {
      const secretEnv = `TEST_SUBSCRIBER_SECRET_${i}`;
      env[secretEnv] = s.secret;
      // The test consumers listen on 127.0.0.1: a private address, which a subscription must allow explicitly.
      return {
        id: s.id,
        url: s.url,
        secretEnv,
        events: s.events ?? ['*'],
        allowPrivateNetworks: true,
        ...(s.requires ? { requires: s.requires } : {}),
        ...(s.timeoutMs ? { timeoutMs: s.timeoutMs } : {}),
      };
    }),
  };
  writeFileSync(file, stringify(yaml));
  return env;
}
