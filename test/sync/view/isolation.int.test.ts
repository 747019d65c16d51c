/**
 * Fuzz on the real record store: random companies (a Zendesk organization with users and tickets,
 * a Stripe customer with invoices that merges into it when its metadata names the organization),
 * delivered in any order, some users never delivered, some moved to another organization (or out of
 * every one) later.
 * For every user a token could name, the view resolved for it holds only invoices and tickets of
 * the company that user belongs to now — or there is no view (404); never another company's. The
 * HTTP route's reader (read.ts), which remembers record ids and parses from reads made while only
 * half the events were applied, answers every token exactly as resolveViewer does.
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { RecordStore } from '../../../src/sync/events/store.js';
import { ViewRateLimiter } from '../../../src/sync/view/rate-limit.js';
import { ViewReader } from '../../../src/sync/view/read.js';
import { resolveViewer } from '../../../src/sync/view/resolve.js';
import { customerView, type Viewer } from '../../../src/sync/view/view.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import { stripeSide, userEvent, zendeskSide, type Company } from '../../support/view.js';

let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix(redisUrl(), p);
  redis.disconnect();
});

interface World {
  companies: Company[];
  /** user id → index of the company they belong to at the end (after moves); none when taken out of every organization. */
  home: Map<string, number>;
  events: SourceEvent[];
  /** users whose events were never delivered: known to Zendesk (they get tokens), not to the store. */
  undelivered: Set<string>;
}

const worldArb: fc.Arbitrary<World> = fc
  .record({
    sizes: fc.array(
      fc.record({
        users: fc.integer({ min: 1, max: 3 }),
        invoices: fc.integer({ min: 0, max: 3 }),
        tickets: fc.integer({ min: 0, max: 3 }),
        linked: fc.boolean(),
      }),
      { minLength: 2, maxLength: 4 },
    ),
    moves: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 3 }),
    lost: fc.array(fc.nat(), { maxLength: 2 }),
    seed: fc.nat(),
  })
  .chain(({ sizes, moves, lost, seed }) => {
    const companies: Company[] = sizes.map((s, k) => {
      const users = Array.from({ length: s.users }, (_, j) => ({ id: `8${k}0${j}`, email: `u${j}@c${k}.example` }));
      return {
        org: `70${k}`,
        name: `Company ${k}`,
        stripe: `cus_${k}`,
        status: 'active',
        users,
        invoices: Array.from({ length: s.invoices }, (_, j) => ({
          id: `in_${k}_${j}`,
          status: j % 2 === 0 ? ('open' as const) : ('paid' as const),
          total: 1000 * (j + 1),
        })),
        tickets: Array.from({ length: s.tickets }, (_, j) => ({
          id: `9${k}0${j}`,
          requester: users[j % users.length]!.id,
          status: 'open',
        })),
      };
    });
    const home = new Map(companies.flatMap((c, k) => c.users.map((u) => [u.id, k] as const)));
    const allUsers = companies.flatMap((c) => c.users);
    const events: SourceEvent[] = companies.flatMap((c, k) => [
      ...zendeskSide(c),
      ...stripeSide(c, 1_000, { linkOrg: sizes[k]!.linked }),
    ]);
    // A late link for some companies: the Stripe customer's metadata names the organization only later (a merge).
    companies.forEach((c, k) => {
      if (!sizes[k]!.linked) events.push(...stripeSide(c, 2_000).slice(0, 1));
    });
    for (const [who, where] of moves) {
      const u = allUsers[who % allUsers.length]!;
      // One more than there are companies: taken out of every organization.
      const to = where % (companies.length + 1);
      events.push(userEvent(companies[to]?.org ?? null, u, 5_000 + events.length));
      if (to < companies.length) home.set(u.id, to);
      else home.delete(u.id);
    }
    const undelivered = new Set(lost.map((n) => allUsers[n % allUsers.length]!.id));
    const delivered = events.filter((e) => !(e.data.kind === 'zendesk.user' && undelivered.has(e.objectId)));
    return fc
      .shuffledSubarray(delivered, { minLength: delivered.length, maxLength: delivered.length })
      .map((shuffled) => ({ companies, home, events: shuffled, undelivered, seed }));
  });

describe("the customer view never shows one company another company's data", () => {
  it("for every token, the view holds only ids of the token user's own company, whatever the order, merges and moves", async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        const prefix = uniquePrefix();
        prefixes.push(prefix);
        const store = new RecordStore(redis, prefix);
        const options = { recentPaidInvoices: 100, tickets: 'organization' } as const;
        const reader = new ViewReader(redis, store, new ViewRateLimiter(prefix, 100_000), options);
        const viewers = world.companies.flatMap((c) =>
          c.users.map((u): Viewer => ({ zendeskUserId: u.id, externalId: null, email: u.email })),
        );
        try {
          const half = Math.floor(world.events.length / 2);
          for (const e of world.events.slice(0, half)) await store.apply(e);
          for (const viewer of viewers) await reader.read(viewer); // remembered: the records of half the story
          for (const e of world.events.slice(half)) await store.apply(e);
          for (const [k, c] of world.companies.entries()) {
            for (const u of c.users) {
              const viewer: Viewer = { zendeskUserId: u.id, externalId: null, email: u.email };
              const found = await resolveViewer(store, viewer);
              const read = await reader.read(viewer);
              expect(
                read.kind === 'customer' ? { kind: read.kind, id: read.record.id, body: JSON.parse(read.body) } : read,
              ).toEqual(
                found.kind === 'customer'
                  ? { kind: found.kind, id: found.record.id, body: customerView(found.record, viewer, options) }
                  : found,
              );
              if (world.undelivered.has(u.id) || !world.home.has(u.id)) {
                expect(found.kind).toBe('none');
                continue;
              }
              if (found.kind === 'none') continue; // 404: never wrong, only less
              const mine = world.companies[world.home.get(u.id)!]!;
              const view = customerView(found.record, viewer, { recentPaidInvoices: 100, tickets: 'organization' });
              const foreignInvoice = view.invoices.find((i) => !mine.invoices.some((x) => x.id === i.id));
              const foreignTicket = view.tickets.find((t) => !mine.tickets.some((x) => x.id === t.id));
              expect(
                foreignInvoice,
                `user ${u.id} (company ${k}, now ${world.home.get(u.id)}) sees invoice ${foreignInvoice?.id}`,
              ).toBeUndefined();
              expect(foreignTicket, `user ${u.id} sees ticket ${foreignTicket?.id}`).toBeUndefined();
              if (view.customer.name !== null) expect(view.customer.name).toBe(mine.name);
            }
          }
        } finally {
          store.close();
          await deleteByPrefix(redisUrl(), prefix);
        }
      }),
      // Under a loaded machine, fewer runs rather than a timeout: every run that finishes has checked every token.
      { numRuns: 60, interruptAfterTimeLimit: 90_000, markInterruptAsFailure: false },
    );
  }, 180_000);

  it('a user who stayed in a company that merged sees the merged invoices', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const store = new RecordStore(redis, prefix);
    const c: Company = {
      org: '701',
      name: 'Merged',
      stripe: 'cus_m',
      status: 'active',
      users: [{ id: '8101', email: 'a@m.example' }],
      invoices: [{ id: 'in_m', status: 'open', total: 500 }],
      tickets: [],
    };
    for (const e of [...stripeSide(c, 1_000, { linkOrg: false }), ...zendeskSide(c), ...stripeSide(c, 2_000)])
      await store.apply(e);
    const found = await resolveViewer(store, { zendeskUserId: '8101', externalId: null, email: 'a@m.example' });
    expect(found.kind).toBe('customer');
    if (found.kind === 'customer')
      expect(
        customerView(
          found.record,
          { zendeskUserId: '8101', externalId: null, email: null },
          { recentPaidInvoices: 1, tickets: 'organization' },
        ).invoices.map((i) => i.id),
      ).toEqual(['in_m']);
    store.close();
  });
});
