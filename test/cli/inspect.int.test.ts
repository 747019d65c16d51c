/**
 * `portal-sync inspect` as an admin reads it: money in major units with its currency (and "due" only
 * while something is due), and a customer found from whatever the admin holds — a name or its start,
 * a Stripe subscription, invoice or invoice number, a Zendesk ticket — with the candidates listed
 * when a name fits several.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerRefs, SourceEvent } from '../../src/sync/events/source-event.js';
import { RecordStore } from '../../src/sync/events/store.js';
import { runCli } from '../support/cli.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { customer, invoice, subscription, ticket } from '../sync/events/merge-events.js';

const prefix = uniquePrefix();
const env = { REDIS_URL: redisUrl(), REDIS_PREFIX: prefix };
const at = (day: number) => Date.UTC(2026, 10, day);
const ids: Record<string, string> = {};

const as = (e: SourceEvent, refs: CustomerRefs, objectId = e.objectId): SourceEvent => ({ ...e, objectId, refs });

beforeAll(async () => {
  const redis = new Redis(redisUrl());
  const store = new RecordStore(redis, prefix);
  const acme = { stripeCustomerId: 'cus_AcmeCorp01' };
  const japan = { stripeCustomerId: 'cus_AcmeJapan1' };
  const other = { stripeCustomerId: 'cus_Globex0001' };
  for (const e of [
    as(
      customer({ version: at(1) }, { name: 'Acme Corp', email: 'billing@acme.example' }),
      { ...acme, email: 'billing@acme.example' },
      acme.stripeCustomerId,
    ),
    as(subscription('sub_AcmeTeam01', 'active', { version: at(1) }, { mrr: 24500 }), acme),
    as(
      invoice(
        'in_AcmeOpen01',
        'open',
        { version: at(2) },
        {
          number: 'ACME-0002',
          total: 24500,
          amountDue: 24500,
          amountRemaining: 24500,
          dueDate: '2026-12-01T00:00:00.000Z',
          createdAt: new Date(at(2)).toISOString(),
        },
      ),
      acme,
    ),
    as(
      invoice(
        'in_AcmePaid01',
        'paid',
        { version: at(3) },
        {
          number: 'ACME-0001',
          total: 24500,
          amountDue: 24500,
          amountPaid: 24500,
          amountRemaining: 0,
          createdAt: new Date(at(1)).toISOString(),
        },
      ),
      acme,
    ),
    as(
      customer({ version: at(1) }, { name: 'Acme Japan KK', email: 'kaikei@acme.example', currency: 'jpy' }),
      japan,
      japan.stripeCustomerId,
    ),
    as(
      invoice(
        'in_AcmeJpy001',
        'open',
        { version: at(2) },
        { number: 'AJ-0001', currency: 'jpy', total: 500000, amountDue: 500000, amountRemaining: 500000 },
      ),
      japan,
    ),
    as(customer({ version: at(1) }, { name: 'Globex', email: 'ap@globex.example' }), other, other.stripeCustomerId),
    as(ticket('5301', 'open', { version: at(4) }, { brandId: '360000000002' }), {
      ...other,
      zendeskOrganizationId: '700',
    }),
  ]) {
    await store.apply(e);
  }
  for (const [name, key] of [
    ['acme', 'stripe:cus_AcmeCorp01'],
    ['japan', 'stripe:cus_AcmeJapan1'],
    ['globex', 'stripe:cus_Globex0001'],
  ] as const)
    ids[name] = (await store.findByKey(key))!.id;
  redis.disconnect();
});
afterAll(() => deleteByPrefix(redisUrl(), prefix));

describe('inspect prints money as a person reads it', { timeout: 400_000 }, () => {
  it('shows amounts in major units with the currency code, "due" only on what is still due, and a zero-decimal currency right', async () => {
    const acme = await runCli(['inspect', 'cus_AcmeCorp01'], env);
    expect(acme.stderr).toBe('');
    expect(acme.code).toBe(0);
    expect(acme.stdout).toContain('  billing: active on Team, MRR USD 245.00, balance USD 0.00,');
    expect(acme.stdout).toContain('  invoice ACME-0002: open, USD 245.00 due by 2026-12-01 (of USD 245.00)\n');
    expect(acme.stdout).toContain('  invoice ACME-0001: paid, paid USD 245.00\n');
    expect(acme.stdout).not.toMatch(/24500|due 0/);
    const japan = await runCli(['inspect', 'cus_AcmeJapan1'], env);
    expect(japan.stdout).toContain('  invoice AJ-0001: open, JPY 500,000 due (of JPY 500,000)\n');
  });
});

describe('inspect shows Zendesk brands', { timeout: 400_000 }, () => {
  it("labels each ticket with its brand and lists the brands the customer's tickets are on", async () => {
    const r = await runCli(['inspect', 'cus_Globex0001'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ {2}ticket 5301: open \(normal\) Ticket 5301 \[brand 360000000002\]\n/);
    expect(r.stdout).toContain('  Zendesk brands: 360000000002 (tickets: 360000000002; Help Center activity: none)\n');
  });
});

describe('inspect finds a customer', { timeout: 400_000 }, () => {
  it('by a Stripe subscription, invoice id or invoice number, or a Zendesk ticket', async () => {
    const refs: Array<[string, string]> = [
      ['sub_AcmeTeam01', ids.acme!],
      ['in_AcmeJpy001', ids.japan!],
      ['acme-0001', ids.acme!],
      ['zendesk:ticket:5301', ids.globex!],
    ];
    for (const [ref, id] of refs) {
      const r = await runCli(['inspect', ref, '--json'], env);
      expect(r.code, ref).toBe(0);
      expect(r.json().id, ref).toBe(id);
    }
  });

  it('by the start of its name, in any case, and lists the candidates when several fit', async () => {
    const one = await runCli(['inspect', 'GLOB'], env);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(new RegExp(`^customer ${ids.globex}\\n`));
    const full = await runCli(['inspect', 'acme corp', '--json'], env);
    expect(full.json().id).toBe(ids.acme);
    const several = await runCli(['inspect', 'acme'], env);
    expect(several.code).toBe(1);
    expect(several.stdout).toBe('');
    const w = Math.max(ids.acme!.length, ids.japan!.length);
    expect(several.stderr).toBe(
      `portal-sync: 2 customers match a name starting with "acme" or an invoice number "acme"; name one by its id:\n` +
        `  ${ids.acme!.padEnd(w)}  Acme Corp  (name "Acme Corp")\n  ${ids.japan!.padEnd(w)}  Acme Japan KK  (name "Acme Japan KK")\n`,
    );
    const none = await runCli(['inspect', 'Initech'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      'portal-sync: no customer record for a name starting with "Initech" or an invoice number "Initech"\n',
    );
  });
});
