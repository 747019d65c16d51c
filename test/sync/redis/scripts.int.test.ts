/**
 * The script loader on the real Redis: a script runs on any client (defined once per client, sent by
 * its SHA), and a call with a key count other than the script declares is refused before reaching Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScript, type ScriptKeys } from '../../../src/sync/redis/scripts.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';

const prefix = uniquePrefix();
let a: Redis;
let b: Redis;

beforeAll(() => {
  a = new Redis(redisUrl());
  b = new Redis(redisUrl());
});
afterAll(async () => {
  a.disconnect();
  b.disconnect();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('runScript', () => {
  it('runs a script from its file on every client, again and again', async () => {
    const key = `${prefix}:gate`;
    expect(Number(await runScript(a, 'call-gate-take', [key], [60_000, 2, 's1', 1_000, 20]))).toBe(0);
    expect(Number(await runScript(b, 'call-gate-take', [key], [60_000, 2, 's2', 1_000, 20]))).toBe(0);
    expect(Number(await runScript(a, 'call-gate-take', [key], [60_000, 2, 's3', 1_000, 20]))).toBe(20);
    expect(Number(await runScript(b, 'call-gate-release', [key], ['s1']))).toBe(0);
    expect(await a.zcard(key)).toBe(2);
  });

  it('refuses a call with fewer keys than a script of n fixed keys and a list declares', async () => {
    const three = [`${prefix}:a`, `${prefix}:b`, `${prefix}:c`] as unknown as ScriptKeys<'view-read'>;
    await expect(runScript(a, 'view-read', three, [1_000, 10, ''])).rejects.toThrow(
      'script view-read declares at least 4 keys, was given 3',
    );
  });

  it('refuses a call whose key count is not the declared one', async () => {
    const two = [`${prefix}:x`, `${prefix}:y`] as unknown as ScriptKeys<'call-gate-take'>;
    await expect(runScript(a, 'call-gate-take', two, [1, 1, 's', 1, 1])).rejects.toThrow(
      'script call-gate-take declares 1 keys, was given 2',
    );
  });
});
