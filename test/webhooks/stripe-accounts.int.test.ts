/**
 * One Stripe endpoint, several accounts: the secret that verifies a delivery says whose it is. An account
 * endpoint's events are that account's; a Connect platform's endpoint's events are the connected account's
 * they name; a delivery whose signature and claimed account disagree is refused and nothing is queued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reparseQuarantined } from '../../src/connectors/reparse.js';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { fixtureJson, metricValue, post, queuedJobs } from '../support/http.js';

const SECRETS = {
  STRIPE_EU_SECRET_KEY: 'sk_test_FAKE_eu_key_not_real_0001',
  STRIPE_EU_WEBHOOK_SECRET: 'whsec_test_secret_not_real_eu_0001',
  STRIPE_US_SECRET_KEY: 'sk_test_FAKE_us_key_not_real_0001',
  STRIPE_US_WEBHOOK_SECRET: 'whsec_test_secret_not_real_us_0001',
  STRIPE_US_CONNECT_WEBHOOK_SECRET: 'whsec_test_secret_not_real_usc_001',
};
const EU = 'acct_1EuEntityFAKE0001';
const US = 'acct_1UsPlatformFAKE01';

let daemon: TestDaemon;
let seq = 0;

function send(secret: string, change: (event: any) => void = () => undefined) {
  const event = fixtureJson<any>('stripe/customer.updated.json');
  event.id = `evt_accts_${process.pid}_${seq++}`;
  event.livemode = false;
  change(event);
  const body = JSON.stringify(event);
  return post(daemon, '/webhooks/stripe', body, { 'stripe-signature': signStripePayload(body, secret) }).then((r) => ({
    r,
    event,
  }));
}
const queued = async (eventId: string) => (await queuedJobs(daemon)).filter((j) => j.data.eventId === eventId);

beforeAll(async () => {
  daemon = await startTestDaemon({
    ...SECRETS,
    STRIPE_WEBHOOK_SECRET: '',
    PORTAL_SYNC_CONFIG: 'test/fixtures/config/stripe-accounts.yaml',
  });
});
afterAll(async () => {
  await daemon.stop();
});

describe('POST /webhooks/stripe with several accounts', () => {
  it('attributes an event to the account whose endpoint secret verified it', async () => {
    const { r, event } = await send(SECRETS.STRIPE_EU_WEBHOOK_SECRET);
    expect(r.status).toBe(200);
    const [job] = await queued(event.id);
    expect(job?.data.refs).toMatchObject({ stripeCustomerId: event.data.object.id, stripeAccountId: EU });
    const { event: us } = await send(SECRETS.STRIPE_US_WEBHOOK_SECRET);
    expect((await queued(us.id))[0]?.data.refs.stripeAccountId).toBe(US);
  });

  it('attributes a Connect event to the connected account it names, not to the platform', async () => {
    const { r, event } = await send(
      SECRETS.STRIPE_US_CONNECT_WEBHOOK_SECRET,
      (e) => (e.account = 'acct_1ConnectedFAKE01'),
    );
    expect(r.status).toBe(200);
    expect((await queued(event.id))[0]?.data.refs.stripeAccountId).toBe('acct_1ConnectedFAKE01');
  });

  it("refuses a delivery signed with account A's secret that claims account B, and queues nothing", async () => {
    const before = await metricValue(daemon, 'portal_sync_webhook_rejections_total', {
      source: 'stripe',
      reason: 'account_mismatch',
    });
    const { r, event } = await send(SECRETS.STRIPE_EU_WEBHOOK_SECRET, (e) => (e.account = US));
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({
      reason: 'account_mismatch',
      error: expect.stringContaining('account endpoint secret of Stripe account eu'),
    });
    expect(await queued(event.id)).toHaveLength(0);
    // Nor does an account endpoint's secret pass for a connected account's event.
    const { r: connected, event: e2 } = await send(
      SECRETS.STRIPE_EU_WEBHOOK_SECRET,
      (e) => (e.account = 'acct_1ConnectedFAKE01'),
    );
    expect(connected.status).toBe(403);
    expect(await queued(e2.id)).toHaveLength(0);
    expect(
      await metricValue(daemon, 'portal_sync_webhook_rejections_total', {
        source: 'stripe',
        reason: 'account_mismatch',
      }),
    ).toBe(before + 2);
  });

  it('refuses a Connect delivery that names no connected account, or an account id of another shape', async () => {
    for (const account of [undefined, 'cus_123', 'acct_1Bad:cus_1', US]) {
      const { r, event } = await send(SECRETS.STRIPE_US_CONNECT_WEBHOOK_SECRET, (e) =>
        account === undefined ? delete e.account : (e.account = account),
      );
      expect(r.status, String(account)).toBe(403);
      expect(await queued(event.id)).toHaveLength(0);
    }
  });

  it("ignores visibly an event whose livemode disagrees with its account's mode (a live event on a test platform's Connect endpoint)", async () => {
    const { r, event } = await send(SECRETS.STRIPE_US_CONNECT_WEBHOOK_SECRET, (e) => {
      e.account = 'acct_1ConnectedFAKE01';
      e.livemode = true;
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ accepted: 0, ignored: 1 });
    expect(await queued(event.id)).toHaveLength(0);
    expect(daemon.logs.join('')).toMatch(
      /"account":"us".*Stripe event of the other mode ignored \(the mode of Stripe account us is test\)/,
    );
  });

  it("quarantines a connected account's broken event with its account, so a replay keys the customer as the delivery would have", async () => {
    const { r, event } = await send(SECRETS.STRIPE_US_CONNECT_WEBHOOK_SECRET, (e) => {
      e.account = 'acct_1ConnectedFAKE01';
      e.data.object.balance = 'not a number';
    });
    expect(r.status).toBe(202);
    const [meta] = (await daemon.ingestor.quarantined.page({ limit: 50 })).filter((m) => m.eventId === event.id);
    expect(meta).toMatchObject({ source: 'stripe', stripeAccountId: 'acct_1ConnectedFAKE01' });
    const entry = await daemon.ingestor.quarantined.get(meta!.id);
    entry!.body = entry!.body.replace('"not a number"', '0'); // what a parser fix would make of it
    const [replayed] = reparseQuarantined(entry!, daemon.config);
    expect(replayed).toMatchObject({
      kind: 'events',
      events: [{ refs: { stripeCustomerId: event.data.object.id, stripeAccountId: 'acct_1ConnectedFAKE01' } }],
    });
  });

  it('refuses a delivery no configured secret verifies', async () => {
    const { r } = await send('whsec_test_secret_not_real_other_01');
    expect(r.status).toBe(401);
  });
});
