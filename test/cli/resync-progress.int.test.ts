/**
 * `resync` run without a terminal (its stderr a pipe, as in a log or CI), against the Zendesk stand-in:
 * it says when it waits for Zendesk's export pacing and for how long, and prints a final line per stream.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { seedCustomers } from '../e2e/resync-support.js';
import { runCli } from '../support/cli.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix();
let sf: SalesforceStandIn;
let zd: ZendeskStandIn;
let env: Record<string, string>;

beforeAll(async () => {
  sf = await startSalesforceStandIn({});
  zd = await startZendeskStandIn({ exportLagSeconds: 60 });
  const hourAgo = Date.now() - 3600_000;
  seedCustomers(sf, zd, 3, (i) => new Date(hourAgo + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const override = join(mkdtempSync(join(tmpdir(), 'resync-progress-')), 'override.yaml');
  // 20 export calls a minute: the three Zendesk streams' first pages are 3 s apart.
  writeFileSync(override, 'resync:\n  zendeskExportsPerMinute: 20\n');
  env = {
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    PORTAL_SYNC_CONFIG: override,
    ZENDESK_BASE_URL: zd.baseUrl,
    ZENDESK_EMAIL: 'agent@example.com',
    ZENDESK_API_TOKEN: 'zd-token-0123456789abcdef',
  };
}, 60_000);
afterAll(async () => {
  await sf?.close();
  await zd?.close();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('resync progress in a log', { timeout: 300_000 }, () => {
  it('says it waits for Zendesk export pacing and how long, then a final line per stream', async () => {
    const r = await runCli(['resync', '--source', 'zendesk', '--no-wait'], env);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContain(
      'resync: waiting 3 s for Zendesk export pacing (20 per minute, resync.zendeskExportsPerMinute)',
    );
    for (const stream of ['zendesk.organizations', 'zendesk.users', 'zendesk.tickets']) {
      expect(
        lines.filter((l) => l.startsWith(`resync: ${stream} done: read `)),
        stream,
      ).toHaveLength(1);
    }
    expect(lines.find((l) => l.startsWith('resync: zendesk.users done:'))).toMatch(
      /^resync: zendesk.users done: read 3 in 1 page\(s\), queued 3, in [\d.]+ s$/,
    );
    expect(r.stderr).not.toMatch(/ETA|NFs/);
    expect(r.stdout).toMatch(/^resync \S+: read \d+, queued \d+/);
  });
});
