/**
 * The customer view's one-round-trip read (read.ts) on the real Redis and record store: a viewer's
 * repeat read is one Redis command, a record changed since (a paid invoice, a merge, a move) is
 * served as it is now, and a request past the budget reads nothing. That it always agrees with
 * resolveViewer, across random merges and moves, is checked by isolation.int.test.ts.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RecordStore } from '../../../src/sync/events/store.js';
import { ViewRateLimiter } from '../../../src/sync/view/rate-limit.js';
import { ViewReader, type ViewRead } from '../../../src/sync/view/read.js';
import type { CustomerView, Viewer } from '../../../src/sync/view/view.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../../support/redis.js';
import {
  acme,
  ann,
  applyAll,
  bob,
  bobco,
  stripeSide,
  userEvent,
  zendeskSide,
  type Company,
} from '../../support/view.js';

const OPTIONS = { recentPaidInvoices: 12, tickets: 'organization' } as const;

let redis: Redis;
let prefix: string;
let store: RecordStore;
/** Commands the reader's connection sent. */
let sent: string[] = [];

function reader(perMinute = 1000, maxParsedBytes?: number): ViewReader {
  return new ViewReader(
    redis,
    store,
    new ViewRateLimiter(prefix, perMinute),
    OPTIONS,
    maxParsedBytes === undefined ? {} : { maxParsedBytes },
  );
}

const viewOf = (read: ViewRead): CustomerView => {
  if (read.kind !== 'customer') throw new Error(`expected a customer, got ${JSON.stringify(read)}`);
  return JSON.parse(read.body) as CustomerView;
};

beforeAll(() => {
  redis = new Redis(redisUrl());
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    sent.push(command.name);
    return send(command, stream);
  };
});
beforeEach(async () => {
  prefix = uniquePrefix();
  // The store writes on a connection of its own: only the reader's commands are counted.
  store = new RecordStore(new Redis(redisUrl()), prefix);
  await applyAll(store, [...zendeskSide(acme), ...stripeSide(acme), ...zendeskSide(bobco), ...stripeSide(bobco)]);
  sent = [];
  return async () => {
    store.close();
    await deleteByPrefix(redisUrl(), prefix);
  };
});
afterAll(() => redis.disconnect());

describe('the customer view read', () => {
  it('reads a viewer seen before in one Redis command: count, index and record at once', async () => {
    const r = reader();
    expect(viewOf(await r.read(ann)).invoices.map((i) => i.id)).toEqual(['in_acme_1']);
    sent = [];
    const again = await r.read(ann);
    expect(sent).toEqual(['evalsha']);
    expect(viewOf(again).customer.name).toBe('Acme');
  });

  it('serves a record changed since the last read as it is now (the invoice just paid)', async () => {
    const r = reader();
    expect(viewOf(await r.read(ann)).invoices.map((i) => i.status)).toEqual(['open']);
    await applyAll(
      store,
      stripeSide({ ...acme, status: 'active', invoices: [{ id: 'in_acme_1', status: 'paid', total: 4900 }] }, 2_000),
    );
    const now = viewOf(await r.read(ann));
    expect(now.billing?.status).toBe('active');
    expect(now.invoices.map((i) => [i.id, i.status])).toEqual([['in_acme_1', 'paid']]);
  });

  it("follows the index when the remembered record is no longer the viewer's: merged away, or the viewer moved", async () => {
    const r = reader();
    const dana: Company = {
      org: '7101',
      name: 'Danaco',
      stripe: 'cus_dana',
      status: 'active',
      users: [{ id: '8101', email: 'dana@danaco.example' }],
      invoices: [{ id: 'in_dana_1', status: 'open', total: 1000 }],
      tickets: [],
    };
    const danaViewer: Viewer = { zendeskUserId: '8101', externalId: null, email: 'dana@danaco.example' };
    // Dana's organization is read first on its own record; the Stripe customer that names it merges into it later.
    await applyAll(store, [...stripeSide(dana, 1_000, { linkOrg: false }), ...zendeskSide(dana)]);
    expect(viewOf(await r.read(danaViewer)).invoices).toEqual([]);
    await applyAll(store, stripeSide(dana, 2_000));
    expect(viewOf(await r.read(danaViewer)).invoices.map((i) => i.id)).toEqual(['in_dana_1']);

    // Found by email first (a contact of another company has it); once Zendesk tells of the user, their
    // user id names another record, which decides, while the remembered one still exists.
    const solo: Company = {
      org: '7201',
      name: 'Solo',
      stripe: 'cus_solo',
      status: 'active',
      users: [{ id: '8302', email: 'shared@solo.example' }],
      invoices: [{ id: 'in_solo_1', status: 'open', total: 700 }],
      tickets: [],
    };
    const zed: Company = {
      org: '7202',
      name: 'Zedco',
      stripe: 'cus_zed',
      status: 'active',
      users: [{ id: '8301', email: 'zed@zedco.example' }],
      invoices: [],
      tickets: [],
    };
    const zedViewer: Viewer = { zendeskUserId: '8301', externalId: null, email: 'shared@solo.example' };
    await applyAll(store, [...zendeskSide(solo), ...stripeSide(solo)]);
    expect(viewOf(await r.read(zedViewer)).invoices.map((i) => i.id)).toEqual(['in_solo_1']);
    await applyAll(store, zendeskSide(zed));
    const zedNow = viewOf(await r.read(zedViewer));
    expect(zedNow.customer.name).toBe('Zedco');
    expect(zedNow.invoices).toEqual([]);

    // Ann, read (and remembered) as Acme's, moves to Bobco: never Acme's view again.
    expect(viewOf(await r.read(ann)).customer.name).toBe('Acme');
    await store.apply(userEvent('9001', { id: '8001', email: 'ann@acme.example' }, 5_000));
    const moved = await r.read(ann);
    if (moved.kind === 'customer') expect(viewOf(moved).customer.name).toBe('Bobco');
    else expect(moved.kind).toBe('none');
    expect(JSON.stringify(moved)).not.toMatch(/in_acme|Acme|5001/);
  });

  it('answers each customer their own view whatever it keeps parsed: none at all, or one record at a time', async () => {
    let bobsInvoices = ['in_bob_1'];
    for (const bound of [0, 30_000]) {
      const r = reader(1000, bound);
      for (let round = 0; round < 3; round++) {
        expect(viewOf(await r.read(ann)).invoices.map((i) => i.id)).toEqual(['in_acme_1']);
        expect(viewOf(await r.read(bob)).invoices.map((i) => i.id)).toEqual(bobsInvoices);
      }
      // A new open invoice of Bob's: on his next read, not on Ann's.
      await applyAll(
        store,
        stripeSide({ ...bobco, invoices: [{ id: `in_bob_${bound}`, status: 'open', total: 1300 }] }, 3_000 + bound),
      );
      bobsInvoices = [`in_bob_${bound}`, ...bobsInvoices];
      expect(viewOf(await r.read(bob)).invoices.map((i) => i.id)).toEqual(bobsInvoices);
      expect(viewOf(await r.read(ann)).invoices.map((i) => i.id)).toEqual(['in_acme_1']);
    }
  });

  it('reads nothing past the per-user budget, and says when to retry', async () => {
    const r = reader(2);
    await r.read(ann);
    await r.read(ann);
    sent = [];
    const refused = await r.read(ann);
    expect(sent).toEqual(['evalsha']);
    expect(refused.kind).toBe('limited');
    if (refused.kind === 'limited') expect(refused.verdict.retryAfterMs).toBeGreaterThan(0);
    expect(JSON.stringify(refused)).not.toContain('Acme');
    // Another user's budget is their own.
    expect((await r.read({ zendeskUserId: '8002', externalId: null, email: null })).kind).toBe('customer');
  });

  it('answers a user the index does not know with no customer', async () => {
    const r = reader();
    expect(await r.read({ zendeskUserId: '999999', externalId: null, email: 'nobody@else.example' })).toEqual({
      kind: 'none',
      reason: 'unknown_user',
    });
  });
});
