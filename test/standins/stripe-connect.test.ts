/**
 * The Stripe Connect stand-in, driven through the real stripe SDK the way portal-sync drives it: the
 * platform's key, `Stripe-Account` (the SDK's stripeAccount) scoping every read to one connected account,
 * the connected-accounts list paged, and connected accounts' events carrying `account` to the Connect endpoint.
 */
import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import { createStripeClient } from '../../src/connectors/stripe/client.js';
import { verifyStripeWebhook } from '../../src/connectors/stripe/webhook.js';
import { listenOnLoopback } from '../../src/demo/standins/common.js';
import {
  startStripeConnectStandIn,
  type StripeConnectStandIn,
  type StripeConnectStandInOptions,
} from '../../src/demo/standins/stripe/connect.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function connect(opts: StripeConnectStandInOptions = {}): Promise<StripeConnectStandIn> {
  const s = await startStripeConnectStandIn(opts);
  open.push(s);
  return s;
}
const api = (s: StripeConnectStandIn, stripeAccount?: string) =>
  createStripeClient(
    { secretKey: s.secretKey, host: s.host, port: s.port, protocol: 'http' },
    stripeAccount === undefined ? {} : { stripeAccount },
  );

describe('Stripe Connect stand-in', () => {
  it('scopes reads to the connected account Stripe-Account names: one customer id in two accounts is two customers', async () => {
    const s = await connect({ connected: ['acct_1ConnA', 'acct_1ConnB'] });
    s.accounts.get('acct_1ConnA')!.createCustomer({ id: 'cus_Same', name: 'Alpha GmbH' });
    s.accounts.get('acct_1ConnB')!.createCustomer({ id: 'cus_Same', name: 'Beta Ltd' });
    expect((await api(s, 'acct_1ConnA').customers.retrieve('cus_Same')) as Stripe.Customer).toMatchObject({
      name: 'Alpha GmbH',
    });
    expect((await api(s, 'acct_1ConnB').customers.retrieve('cus_Same')) as Stripe.Customer).toMatchObject({
      name: 'Beta Ltd',
    });
    // The platform's own objects are not its connected accounts'.
    const own = await api(s)
      .customers.retrieve('cus_Same')
      .catch((e: unknown) => e);
    expect(own).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(s.calls.filter((c) => c.path === '/v1/customers/cus_Same').map((c) => c.stripeAccount)).toEqual([
      'acct_1ConnA',
      'acct_1ConnB',
      null,
    ]);
  });

  it('refuses 403 a Stripe-Account the platform has no connection to', async () => {
    const s = await connect({ connected: ['acct_1ConnA'] });
    const err = await api(s, 'acct_1Stranger')
      .customers.list()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeError);
    expect(err).toMatchObject({ statusCode: 403, code: 'account_invalid' });
  });

  it('lists the connected accounts newest first, page by page, and the platform itself with GET /v1/account', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `acct_1Conn${i}`);
    const s = await connect({ connected: ids });
    const first = await api(s).accounts.list({ limit: 3 });
    expect(first.data.map((a) => a.id)).toEqual(['acct_1Conn6', 'acct_1Conn5', 'acct_1Conn4']);
    expect(first.has_more).toBe(true);
    const all: string[] = [];
    for await (const a of api(s).accounts.list({ limit: 2 })) all.push(a.id);
    expect(all).toEqual([...ids].reverse());
    const back = await api(s).accounts.list({ limit: 2, ending_before: 'acct_1Conn2' });
    expect(back.data.map((a) => a.id)).toEqual(['acct_1Conn4', 'acct_1Conn3']);
    const me = await api(s).accounts.retrieveCurrent();
    expect(me.id).toMatch(/^acct_/);
    expect(ids).not.toContain(me.id);
    const bad = await api(s)
      .accounts.list({ limit: 2, colour: 'x' } as Stripe.AccountListParams)
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ statusCode: 400 });
  });

  it("posts a connected account's events to the Connect endpoint with `account`, signed with its secret", async () => {
    const bodies: Array<{ body: string; signature: string }> = [];
    const receiver = await listenOnLoopback((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        bodies.push({ body, signature: String(req.headers['stripe-signature']) });
        res.writeHead(200).end('{}');
      });
    });
    open.push(receiver);
    const secret = 'whsec_test_secret_not_real_connect_1';
    const s = await connect({
      connected: ['acct_1ConnA'],
      connectWebhookUrl: `${receiver.origin}/webhooks/stripe`,
      connectWebhookSecret: secret,
    });
    s.accounts.get('acct_1ConnA')!.createCustomer({ id: 'cus_Same', name: 'Alpha GmbH' });
    await s.flushWebhooks();
    expect(bodies).toHaveLength(1);
    const verified = verifyStripeWebhook(Buffer.from(bodies[0]!.body), bodies[0]!.signature, [secret], 300);
    expect(verified).toMatchObject({
      ok: true,
      event: { type: 'customer.created', account: 'acct_1ConnA', data: { object: { id: 'cus_Same' } } },
    });
  });
});
