/**
 * One time grammar for every command (`report deflection`, `resync`, `webhooks replay`, `dlq list`):
 * the same spans and ISO dates are taken, the same mistake gets the same one-line answer (exit 2),
 * and a start past what is kept is warned about with the retention.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { outboundEnv } from '../outbound/support/setup.js';

const prefix = uniquePrefix();
let env: Record<string, string>;

beforeAll(async () => {
  env = {
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    ...outboundEnv([
      {
        id: 'billing',
        url: 'http://127.0.0.1:9/hook',
        secret: `whsec_${Buffer.from('x'.repeat(32)).toString('base64')}`,
      },
    ]),
  };
  // Something under the prefix, so that read commands find portal-sync data there.
  const redis = new Redis(redisUrl());
  await redis.set(`${prefix}:meta`, JSON.stringify({ schema: 1 }));
  redis.disconnect();
});
afterAll(() => deleteByPrefix(redisUrl(), prefix));

const COMMANDS: string[][] = [
  ['report', 'deflection', '--json'],
  ['resync', '--dry-run', '--source', 'stripe'],
  ['webhooks', 'replay', 'billing'],
  ['dlq', 'list'],
];

describe('--since and --until', { timeout: 180_000 }, () => {
  it('refuses the same mistake with the same line and exit 2 in every command', async () => {
    const results = await Promise.all(COMMANDS.map((c) => runCli([...c, '--since', 'last tuesday'], env)));
    for (const [i, r] of results.entries()) {
      expect(r.code, COMMANDS[i]!.join(' ')).toBe(2);
      expect(r.stderr, COMMANDS[i]!.join(' ')).toBe(
        'portal-sync: --since: expected a span back from now (24h, 7d, 2w) or an ISO date (2026-10-01) or date-time (2026-10-01T08:00:00Z), got "last tuesday"\n',
      );
    }
  });

  it('takes hours and weeks in the commands that took only days or only ISO dates', async () => {
    const report = await runCli(['report', 'deflection', '--since', '2w', '--until', '24h', '--json'], env);
    expect(report.stderr).toBe('');
    expect(report.code).toBe(0);
    expect(report.json().period.days).toBe(13);
    const dlq = await runCli(['dlq', 'list', '--since', '2w', '--until', '24h'], env);
    expect(dlq.code).toBe(0);
    expect(dlq.stdout).toMatch(/^no dead letters between \d{4}-.*Z and \d{4}-.*Z\n$/);
    const replay = await runCli(['webhooks', 'replay', 'billing', '--since', '2w', '--until', '24h'], env);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^billing: 0 event\(s\) since \S+ until \S+, 0 queued again/);
  });

  it('says when --since reaches back past what is kept, with the retention and its setting', async () => {
    const report = await runCli(['report', 'deflection', '--since', '60w', '--json'], env);
    expect(report.code).toBe(0);
    expect(report.stderr).toMatch(
      /^portal-sync: warning: --since \S+ reaches back past what is kept: deflection sessions and tickets are kept for 400 days \(deflection.historyDays\)/,
    );
    const replay = await runCli(['webhooks', 'replay', 'billing', '--since', '2d'], env);
    expect(replay.code).toBe(0);
    expect(replay.stderr).toMatch(
      /^portal-sync: warning: --since \S+ reaches back past what is kept: outbound events are kept for 1 hour \(outbound.retentionMs\)/,
    );
  });

  it('refuses an end before the start, and an end in the future', async () => {
    const backwards = await runCli(['report', 'deflection', '--since', '7d', '--until', '14d'], env);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toMatch(/^portal-sync: --since \(.*\) must be before until \(.*\)\n$/);
    const ahead = await runCli(['dlq', 'list', '--until', '2999-01-01'], env);
    expect(ahead.code).toBe(2);
    expect(ahead.stderr).toBe('portal-sync: --until: 2999-01-01 is in the future; leave it out to mean now\n');
  });
});
