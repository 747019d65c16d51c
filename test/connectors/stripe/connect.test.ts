/**
 * A platform's connected accounts as one resumable stream per kind: every account the platform lists (paged
 * through GET /v1/accounts), each read with Stripe-Account; a pass cut short resumes from its cursor in the
 * account, at the page, where it stopped, and reads every object exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripeClient } from '../../../src/connectors/stripe/client.js';
import { connectedAccountsStream } from '../../../src/connectors/stripe/connect.js';
import { stripeSnapshotStreams } from '../../../src/connectors/stripe/enumerate.js';
import { startStripeConnectStandIn, type StripeConnectStandIn } from '../../../src/demo/standins/stripe/connect.js';

let s: StripeConnectStandIn;
const ACCOUNTS = Array.from({ length: 105 }, (_, i) => `acct_1Conn${String(i).padStart(3, '0')}`);

beforeAll(async () => {
  s = await startStripeConnectStandIn({ connected: ACCOUNTS });
  // Three customers in a few accounts (one id in all of them), none in the others; one account holds 150
  // more, two pages of Stripe's 100.
  for (const id of [ACCOUNTS[0]!, ACCOUNTS[50]!, ACCOUNTS[104]!]) {
    for (let i = 0; i < 3; i++)
      s.accounts.get(id)!.createCustomer({ id: `cus_Shared${i}`, name: `${id} customer ${i}` });
  }
  s.accounts.get(ACCOUNTS[50]!)!.seedCustomers(150);
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const api = (stripeAccount?: string) =>
  createStripeClient(
    { secretKey: s.secretKey, host: s.host, port: s.port, protocol: 'http' },
    stripeAccount === undefined ? {} : { stripeAccount },
  );
/** Customers of each connected account. */
const customers = () =>
  connectedAccountsStream(
    api(),
    'stripe.p.connected.customers',
    (accountId) => stripeSnapshotStreams(api(accountId), { accountId, namePrefix: 'stripe.p.connected' })[0]!,
  );

describe('connectedAccountsStream', () => {
  it('reads every connected account the platform lists, past the first page of 100, each object keyed by its account', async () => {
    const keys: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await customers().page(cursor);
      keys.push(...page.events.map((e) => `${e.refs.stripeAccountId}:${e.refs.stripeCustomerId}`));
      cursor = page.next;
      pages += 1;
    } while (cursor !== null && pages < 500);
    expect(keys).toHaveLength(159);
    const shared = keys.filter((k) => k.includes(':cus_Shared'));
    expect(new Set(shared)).toEqual(
      new Set(
        [ACCOUNTS[0]!, ACCOUNTS[50]!, ACCOUNTS[104]!].flatMap((a) => [0, 1, 2].map((i) => `${a}:cus_Shared${i}`)),
      ),
    );
    expect(keys.filter((k) => !k.includes(':cus_Shared')).every((k) => k.startsWith(`${ACCOUNTS[50]}:`))).toBe(true);
    expect(
      s.calls.filter((c) => c.path === '/v1/accounts').map((c) => new URLSearchParams(c.query).get('limit')),
    ).toContain('100');
  });

  it('resumes from a cursor in a new process: no object twice, none missed', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 500 && (i === 0 || cursor !== null); i++) {
      // A fresh stream for every page: all it knows is the cursor, as after a restart.
      const page = await customers().page(cursor);
      seen.push(...page.events.map((e) => e.eventId));
      cursor = page.next;
    }
    expect(cursor).toBeNull();
    expect(seen).toHaveLength(159);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
