/** What a webhook answer costs beyond what it says: no ETag (nothing revalidates the answer to a POST). */
import { describe, expect, it } from 'vitest';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { testDaemonForFile, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { fixtureJson, post } from '../support/http.js';

let daemon: TestDaemon;
testDaemonForFile((d) => (daemon = d));

describe('webhook answers', () => {
  it('carry the counts and the request id but no ETag', async () => {
    const event = fixtureJson<any>('stripe/customer.subscription.updated.json');
    event.id = `evt_answer_${Date.now()}`;
    const body = JSON.stringify(event);
    const res = await post(daemon, '/webhooks/stripe', body, {
      'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ received: true, accepted: 1 });
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.headers.get('etag')).toBeNull();
  });
});
