/**
 * The Redis connection settings (Sentinel, passwords, TLS) and the replica acknowledgement settings refuse
 * broken combinations by name, all at once, and reach config.redis when they are right.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config.js';

function withYaml(yaml: unknown, env: NodeJS.ProcessEnv = {}) {
  const file = join(mkdtempSync(join(tmpdir(), 'portal-sync-redis-')), 'override.yaml');
  writeFileSync(file, stringify(yaml));
  return loadConfig({ ...env, PORTAL_SYNC_CONFIG: file });
}
const problemsOf = (r: ReturnType<typeof loadConfig>) => (r.ok ? '' : r.problems.join('\n'));

describe('Redis connection settings', () => {
  it('default to one Redis at REDIS_URL, acknowledged by the primary alone', () => {
    const r = loadConfig({});
    expect(r.ok && r.config.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      prefix: 'portal-sync',
      ackReplicas: 0,
      ackTimeoutMs: 500,
    });
  });

  it('reads the sentinels, the master name, both passwords and TLS into config.redis', () => {
    const r = loadConfig({
      REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.7:26380,[::1]:26381',
      REDIS_SENTINEL_MASTER: 'portal-sync',
      REDIS_SENTINEL_PASSWORD: 'test_fake_sentinel_pw',
      REDIS_PASSWORD: 'test_fake_redis_pw',
      REDIS_TLS: 'true',
    });
    expect(r.ok && r.config.redis).toMatchObject({
      sentinels: [
        { host: 'sentinel-1', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      sentinelMaster: 'portal-sync',
      sentinelPassword: 'test_fake_sentinel_pw',
      password: 'test_fake_redis_pw',
      tls: true,
    });
  });

  it('names every broken Redis setting at once', () => {
    const r = loadConfig({ REDIS_SENTINELS: 'sentinel-1,sentinel-2:99999', REDIS_TLS: 'yes' });
    const all = problemsOf(r);
    expect(r.ok).toBe(false);
    expect(all).toMatch(/REDIS_SENTINELS: expected host:port of each sentinel/);
    expect(all).toMatch(/REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS/);
    expect(all).toMatch(/REDIS_TLS:/);
  });

  it('refuses a master name or a sentinel password without sentinels', () => {
    const all = problemsOf(
      loadConfig({ REDIS_SENTINEL_MASTER: 'mymaster', REDIS_SENTINEL_PASSWORD: 'test_fake_sentinel_pw' }),
    );
    expect(all).toMatch(/REDIS_SENTINELS: required with REDIS_SENTINEL_MASTER/);
    expect(all).toMatch(/REDIS_SENTINEL_PASSWORD: only used with REDIS_SENTINELS/);
  });
});

describe('replica acknowledgement settings', () => {
  it('take redis.ackReplicas and redis.ackTimeoutMs from YAML', () => {
    const r = withYaml({ redis: { ackReplicas: 1, ackTimeoutMs: 250 } });
    expect(r.ok && r.config.redis).toMatchObject({ ackReplicas: 1, ackTimeoutMs: 250, url: 'redis://127.0.0.1:6379' });
  });

  it('name a negative replica count, a too-short wait and an unknown key', () => {
    const all = problemsOf(withYaml({ redis: { ackReplicas: -1, ackTimeoutMs: 1, ackReplica: 1 } }));
    expect(all).toMatch(/redis\.ackReplica: unknown key.*did you mean ackReplicas/);
    expect(all).toMatch(/redis\.ackReplicas/);
    expect(all).toMatch(/redis\.ackTimeoutMs/);
  });

  it('refuse a wait for replicas as long as the enqueue deadline it is part of', () => {
    const all = problemsOf(
      withYaml({ redis: { ackReplicas: 1, ackTimeoutMs: 2_000 }, server: { enqueueTimeoutMs: 2_000 } }),
    );
    expect(all).toMatch(/redis\.ackTimeoutMs: must be below server\.enqueueTimeoutMs \(2000 ms\), got 2000/);
  });
});
