/**
 * `identity forget` erases a customer completely and provably: after it, a SCAN of the whole key
 * prefix finds the customer's email nowhere (no job payload, session, quarantined body, audit or
 * outbound event), subscribers are sent customer.deleted, and later webhooks for the customer are
 * dropped and counted instead of creating it again, until `identity restore`.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { OutboundStore } from '../../src/sync/outbound/store.js';
import {
  sendActivity,
  sendTicket,
  startDeflectionPipeline,
  type DeflectionPipeline,
  iso,
} from '../e2e/deflection-support.js';
import { outboundEnv } from '../outbound/support/setup.js';
import { runCli } from '../support/cli.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { sendStripe } from '../support/e2e.js';
import { fixtureJson, post } from '../support/http.js';
import { redisUrl } from '../support/redis.js';

const EMAIL = 'Ann.Erase@Example.com';
/** Another customer, whose address holds the first one's: erasing Ann must leave it alone. */
const OTHER = 'joann.erase@example.com';
const CUS = 'cus_EraseAnn00001';
let p: DeflectionPipeline;
let redis: Redis;
let env: Record<string, string>;

const withCustomer = (e: any, id: string) => {
  e.id = id;
  e.data.object.id = CUS;
  e.data.object.email = EMAIL;
  e.data.object.name = 'Ann Erase';
};

/** Every key under the prefix whose name or content holds `needle` (any case) as a whole address or id, not inside a longer one. */
async function keysHolding(prefix: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const word = new RegExp(
    `(?<![a-z0-9._%+-])${needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![a-z0-9-]|\\.[a-z0-9])`,
    'i',
  );
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const content =
        type === 'string'
          ? await redis.get(key)
          : type === 'list'
            ? (await redis.lrange(key, 0, -1)).join('\n')
            : type === 'hash'
              ? JSON.stringify(await redis.hgetall(key))
              : type === 'set'
                ? (await redis.smembers(key)).join('\n')
                : type === 'zset'
                  ? (await redis.zrange(key, '0', '-1')).join('\n')
                  : type === 'stream'
                    ? JSON.stringify(await redis.xrange(key, '-', '+'))
                    : '';
      if (word.test(`${key}\n${content}`)) hits.push(key);
    }
  } while (cursor !== '0');
  return hits;
}

beforeAll(async () => {
  const subs = outboundEnv([
    {
      id: 'crm-sync',
      url: 'http://127.0.0.1:9/hook',
      secret: `whsec_${Buffer.from('f'.repeat(32)).toString('base64')}`,
    },
  ]);
  p = await startDeflectionPipeline({ env: subs });
  redis = new Redis(redisUrl());
  env = { REDIS_URL: redisUrl(), REDIS_PREFIX: p.daemon.prefix, ...subs };
  const T0 = Date.now() - 3600_000;
  await sendStripe(p.daemon, 'customer.created.json', (e) => withCustomer(e, 'evt_EraseCreated01'));
  await sendStripe(p.daemon, 'customer.created.json', (e) => {
    e.id = 'evt_EraseOther01';
    e.data.object.id = 'cus_EraseJoann0001';
    e.data.object.email = OTHER;
    e.data.object.name = 'Jo Ann';
  });
  await sendStripe(p.daemon, 'invoice.paid.json', (e) => {
    e.id = 'evt_EraseInvoice01';
    e.data.object.id = 'in_EraseAnn0001';
    e.data.object.customer = CUS;
    e.data.object.customer_email = EMAIL;
  });
  await sendActivity(p.daemon, {
    id: 'erase-1',
    type: 'search',
    occurred_at: iso(T0),
    contact: { email: EMAIL },
    query: 'cancel my plan',
    result_count: 0,
  });
  await sendTicket(p.daemon, {
    id: '7001',
    email: EMAIL.toLowerCase(),
    createdAt: iso(T0 + 60_000),
    subject: 'Please cancel',
  });
  // A payload that fails its schema: kept in quarantine, email and all.
  const bad = fixtureJson<any>('stripe/customer.updated.json');
  withCustomer(bad, 'evt_EraseQuarantined1');
  bad.data.object.balance = 'a lot';
  const body = JSON.stringify(bad);
  expect(
    (
      await post(p.daemon, '/webhooks/stripe', body, {
        'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
      })
    ).status,
  ).toBe(202);
  await p.drain({ pushes: true });
}, 120_000);
afterAll(async () => {
  redis?.disconnect();
  await p?.stop();
});

describe('identity forget', { timeout: 400_000 }, () => {
  it('leaves no copy of the email anywhere under the prefix, keeps a hashed audit reference, and tells subscribers', async () => {
    const before = await keysHolding(p.daemon.prefix, EMAIL);
    // Sanity: the email really was in the record, the jobs, the sessions, the quarantine and the outbound history.
    expect(before.some((k) => k.includes(':events:'))).toBe(true);
    expect(before.some((k) => k.includes(':defl:'))).toBe(true);
    expect(before.some((k) => k.includes(':quarantine:'))).toBe(true);
    expect(before.some((k) => k.includes(':outbound:'))).toBe(true);

    const r = await runCli(
      ['identity', 'forget', EMAIL, '--reason', 'erasure request #4711', '--yes', '--by', 'dpo'],
      env,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^forgot cust_\S+: released \d+ identity key\(s\); removed [1-9]\d* job\(s\), .*events naming it are dropped for 30 days .*customer.deleted sent to subscribers\n$/,
    );
    const recordId = /^forgot (cust_\S+):/.exec(r.stdout)![1]!;

    for (const variant of [EMAIL, EMAIL.toLowerCase(), encodeURIComponent(EMAIL.toLowerCase()), 'Ann Erase'])
      expect(await keysHolding(p.daemon.prefix, variant), variant).toEqual([]);
    // The Stripe id is left only in customer.deleted itself (its links tell subscribers whom to erase).
    for (const key of await keysHolding(p.daemon.prefix, CUS))
      expect(await redis.get(key), key).toMatch(/"type":"customer.deleted"/);
    const audit = (await redis.lrange(`${p.daemon.prefix}:audit`, 0, -1)).map((e) => JSON.parse(e));
    expect(audit.at(-1)).toMatchObject({
      action: 'forget',
      by: 'dpo',
      reason: 'erasure request #4711',
      keys: expect.arrayContaining([expect.stringMatching(/^(\w+:)?forgotten:[0-9a-f]{32}$/)]),
    });

    const outbound = new OutboundStore(redis, p.daemon.prefix, p.daemon.config.outbound);
    const deleted = (await outbound.eventsSince(0)).filter((e) => e.type === 'customer.deleted');
    expect(deleted).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({ customer: expect.objectContaining({ id: recordId }) }),
      }),
    ]);
    expect(await runCli(['inspect', EMAIL], env)).toMatchObject({ code: 1 });
    // The other customer, whose address contains Ann's, keeps its record and its job payloads.
    expect((await runCli(['inspect', OTHER], env)).code).toBe(0);
    expect((await keysHolding(p.daemon.prefix, OTHER)).some((k) => k.includes(':events:'))).toBe(true);
  });

  it('run again with the email, sweeps for it once more: a copy written after the first sweep is found and removed', async () => {
    // What a job in flight at the first sweep could leave behind, e.g. a log line naming the customer.
    await redis.rpush(`${p.daemon.prefix}:events:late-job:logs`, `delivered to ${EMAIL}`, 'another line');
    const again = await runCli(
      ['identity', 'forget', EMAIL, '--reason', 'erasure request #4711', '--yes', '--by', 'dpo'],
      env,
    );
    expect(again).toMatchObject({
      code: 0,
      stderr: '',
      stdout: `${EMAIL} was forgotten before: swept again, removed 0 job(s), 0 key(s), 1 entr(ies)\n`,
    });
    expect(await keysHolding(p.daemon.prefix, EMAIL)).toEqual([]);
    expect(await redis.lrange(`${p.daemon.prefix}:events:late-job:logs`, 0, -1)).toEqual(['another line']);
    // A reference that names no forgotten customer is still not found.
    expect(
      await runCli(['identity', 'forget', 'nobody.here@example.com', '--reason', 'x', '--yes'], env),
    ).toMatchObject({ code: 1, stdout: '' });
  });

  it('drops and counts later webhooks for the customer, their payload scrubbed, until identity restore', async () => {
    await sendStripe(p.daemon, 'customer.updated.json', (e) => withCustomer(e, 'evt_EraseLate01'));
    await p.drain();
    expect(await redis.get(`${p.daemon.prefix}:forgotten:dropped`)).toBe('1');
    expect(await keysHolding(p.daemon.prefix, EMAIL)).toEqual([]);
    expect((await runCli(['inspect', CUS], env)).code).toBe(1);

    const restored = await runCli(['identity', 'restore', EMAIL, '--reason', 'request withdrawn'], env);
    expect(restored.stderr).toBe('');
    expect(restored.stdout).toMatch(/^restored: events naming Ann.Erase@Example.com are applied again/);
    await sendStripe(p.daemon, 'customer.updated.json', (e) => withCustomer(e, 'evt_EraseAfterRestore1'));
    await p.drain();
    expect((await runCli(['inspect', CUS], env)).code).toBe(0);
    expect(await runCli(['identity', 'restore', EMAIL, '--reason', 'again'], env)).toMatchObject({ code: 1 });
  });
});
