/**
 * bench/record-growth — per-event apply cost (identity + merge + store on real Redis) of customers with
 * 10, 100, 1,000 and 5,000 contacts, measured in the same run, in alternating rounds so that all meet
 * the same machine load. Each customer's events are updates of its Account and of its existing contacts,
 * and new contacts (about one event in eight: 56 more by the end of a default run). The
 * figures to watch are `ratio.meanLargestVsSmallest` and `ratio.p50LargestVsSmallest`: flat means at most
 * `goal.maxRatio` (1.5) for both (`goal.flatFromSmallest`, `goal.flatFromSmallestP50`). When a size equals
 * MAX_INLINE_PEOPLE (BENCH_SIZES=10,16,…), `ratio.meanLargestVsBound` compares with that customer, whose
 * record is as large as a record gets (people past it are kept beside the record). Also prints each
 * customer's stored record size, how many of its people are kept beside the record, and its identity keys.
 *
 *   npm run bench:record-growth        (BENCH_EVENTS=400 BENCH_ROUNDS=8 BENCH_SIZES=10,100,1000,5000 to change)
 */
import { Redis } from 'ioredis';
import { isPersonField, MAX_INLINE_PEOPLE } from '../src/sync/events/people.js';
import { RecordStore } from '../src/sync/events/store.js';
import type { SourceEvent } from '../src/sync/events/source-event.js';
import { deleteByPrefixes } from './lib/redis.js';
import { profiledIfAsked } from './lib/profile.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.BENCH_PREFIX ?? `bench-growth-${process.pid}`;
const events = Number(process.env.BENCH_EVENTS ?? 400);
const rounds = Number(process.env.BENCH_ROUNDS ?? 8);
const SIZES: readonly number[] = (process.env.BENCH_SIZES ?? '10,100,1000,5000').split(',').map(Number);
/** Flat: the largest customer's mean apply cost at most this many times the smallest's. */
const MAX_RATIO = 1.5;

const accountId = (size: number) => `001000000${String(size).padStart(6, '0')}`;
const contactId = (size: number, n: number) => `003${String(size).padStart(4, '0')}${String(n).padStart(8, '0')}`;

function contactEvent(size: number, n: number, version: number): SourceEvent {
  const id = contactId(size, n);
  return {
    v: 1,
    source: 'salesforce',
    eventId: `bench-${id}-${version}`,
    type: 'outbound.Contact',
    objectId: id,
    version,
    origin: 'webhook',
    deleted: false,
    refs: { salesforceAccountId: accountId(size), salesforceContactId: id, email: `p${n}@c${size}.example` },
    data: {
      kind: 'salesforce.contact',
      accountId: accountId(size),
      email: `p${n}@c${size}.example`,
      name: `Person ${n} v${version}`,
      fields: { Id: id, AccountId: accountId(size), Email: `p${n}@c${size}.example`, Name: `Person ${n} v${version}` },
    },
  };
}

function accountEvent(size: number, version: number): SourceEvent {
  return {
    v: 1,
    source: 'salesforce',
    eventId: `bench-${accountId(size)}-${version}`,
    type: 'outbound.Account',
    objectId: accountId(size),
    version,
    origin: 'webhook',
    deleted: false,
    refs: { salesforceAccountId: accountId(size) },
    data: {
      kind: 'salesforce.account',
      fields: { Id: accountId(size), Name: `Acme ${size}`, Customer_Tier__c: version % 2 ? 'Gold' : 'Silver' },
    },
  };
}

/** The customer's next events: updates of its Account (1 in 4) and of its existing contacts, and new contacts (1 in 8). */
function nextEvent(size: number, i: number, version: number, grown: { n: number }): SourceEvent {
  if (i % 4 === 0) return accountEvent(size, version);
  if (i % 8 === 1) return contactEvent(size, grown.n++, version);
  return contactEvent(size, (i * 7919) % size, version);
}

async function main(): Promise<void> {
  const redis = new Redis(redisUrl);
  const store = new RecordStore(redis, prefix);
  try {
    const started = Date.now();
    const recordIds = new Map<number, string>();
    for (const size of SIZES) {
      recordIds.set(size, (await store.apply(accountEvent(size, 1))).recordId);
      for (let n = 0; n < size; n++) {
        await store.apply(contactEvent(size, n, 2));
        if ((n + 1) % 1000 === 0)
          process.stderr.write(
            `seeded ${n + 1} of ${size} contacts (${Math.round((Date.now() - started) / 1000)} s)\n`,
          );
      }
    }
    const seedSeconds = (Date.now() - started) / 1000;
    const samples = new Map<number, number[]>(SIZES.map((s) => [s, []]));
    const grown = new Map(SIZES.map((s) => [s, { n: s }]));
    let version = 10;
    const { profileTop } = await profiledIfAsked(async () => {
      for (let r = 0; r < rounds; r++) {
        // Alternate which size goes first, so neither always meets a warmer or busier moment.
        for (const size of r % 2 ? [...SIZES].reverse() : SIZES) {
          for (let i = 0; i < events / rounds; i++) {
            const e = nextEvent(size, i, version++, grown.get(size)!);
            const t = process.hrtime.bigint();
            await store.apply(e);
            samples.get(size)!.push(Number(process.hrtime.bigint() - t) / 1e6);
          }
        }
      }
    });
    const stats = async (size: number) => {
      const ms = [...samples.get(size)!].sort((a, b) => a - b);
      const id = recordIds.get(size)!;
      return {
        contactsStart: size,
        contactsEnd: grown.get(size)!.n,
        events: ms.length,
        meanMs: round(ms.reduce((a, b) => a + b, 0) / ms.length),
        p50Ms: round(ms[Math.floor(ms.length * 0.5)]!),
        p99Ms: round(ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]!),
        recordBytes: await redis.strlen(store.recordKey(id)),
        peopleBeside: (await redis.hkeys(store.peopleKey(id))).filter(isPersonField).length,
        identityKeys: await redis.scard(store.ownedKey(id)),
      };
    };
    const customers: Record<string, Awaited<ReturnType<typeof stats>>> = {};
    for (const size of SIZES) customers[`contacts${size}`] = await stats(size);
    const small = customers[`contacts${SIZES[0]}`]!;
    const large = customers[`contacts${SIZES[SIZES.length - 1]}`]!;
    const meanRatio = round(large.meanMs / small.meanMs);
    // The customer at the record's bound: past it, people are kept beside the record, so the record stops growing.
    const atBound = customers[`contacts${MAX_INLINE_PEOPLE}`];
    const pastBound = atBound ? round(large.meanMs / atBound.meanMs) : null;
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'record-growth',
          at: new Date().toISOString(),
          maxInlinePeople: MAX_INLINE_PEOPLE,
          seedSeconds: round(seedSeconds),
          customers,
          ratio: {
            meanLargestVsSmallest: meanRatio,
            p50LargestVsSmallest: round(large.p50Ms / small.p50Ms),
            p99LargestVsSmallest: round(large.p99Ms / small.p99Ms),
            recordBytesLargestVsSmallest: round(large.recordBytes / small.recordBytes),
            ...(atBound && { meanLargestVsBound: pastBound, p99LargestVsBound: round(large.p99Ms / atBound.p99Ms) }),
          },
          goal: {
            maxRatio: MAX_RATIO,
            flatFromSmallest: meanRatio <= MAX_RATIO,
            flatFromSmallestP50: large.p50Ms / small.p50Ms <= MAX_RATIO,
            ...(pastBound !== null && { flatPastBound: pastBound <= MAX_RATIO }),
          },
          ...(profileTop && { profileTop }),
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    store.close();
    redis.disconnect();
    await deleteByPrefixes(redisUrl, [prefix]);
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

await main();
