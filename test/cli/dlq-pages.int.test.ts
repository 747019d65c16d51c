/** `dlq list` pages: an operator sees the newest dead letters first, a page at a time, and how to get the next one. */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');
let daemon: TestDaemon;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, cliArgv(args), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', REDIS_URL: daemon.config.redis.url, REDIS_PREFIX: daemon.prefix },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  daemon = await startTestDaemon({}, (c) => {
    c.quarantine.maxEntries = 5;
  });
  for (let i = 0; i < 7; i++) {
    await daemon.ingestor.quarantined.put(
      { source: 'portal', eventId: `pe-${i}`, reason: `reason ${i}`, contentType: 'application/json', body: '{}' },
      new Date(Date.UTC(2026, 10, 20, 10, i)),
    );
  }
});
afterAll(async () => {
  await daemon.stop();
});

describe('dlq list', () => {
  it('shows the newest page first and says how to get the next one, and how many were evicted', () => {
    const first = cli('dlq', 'list', '--limit', '2');
    expect(first.code).toBe(0);
    const lines = first.out.trim().split('\n');
    expect(lines[0]).toMatch(/^DEAD-LETTERED\s+QUEUE\s+SOURCE/);
    expect(lines[1]).toMatch(/^2026-11-20T10:06:00.000Z\s+quarantine\s+portal\s+pe-6 .* reason 6$/);
    expect(lines[2]).toMatch(/reason 5$/);
    expect(lines[3]).toBe('showing 1–2 of 5, newest first; next page: portal-sync dlq list --offset 2');
    expect(lines[4]).toBe(
      '2 quarantined payload(s) were evicted, oldest first, to stay within quarantine.maxEntries / quarantine.maxBytes',
    );
    const last = cli('dlq', 'list', '--limit', '2', '--offset', '4');
    expect(last.out.split('\n')[1]).toMatch(/reason 2$/);
    expect(last.out).not.toMatch(/next page/);
    expect(
      JSON.parse(cli('dlq', 'list', '--limit', '3', '--json').out).map((l: { eventId: string }) => l.eventId),
    ).toEqual(['pe-6', 'pe-5', 'pe-4']);
  });

  it('refuses a page size that is not a whole number, naming the flag', () => {
    const r = cli('dlq', 'list', '--limit', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--limit must be a whole number of at least 1 \(got 0\)/);
  });
});
