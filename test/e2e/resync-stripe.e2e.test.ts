/**
 * Stripe through the real SDK against the Stripe stand-in: webhooks that
 * are partly lost, a reconcile pass over the Events API that repairs them,
 * and a resync from the list endpoints that ends with the same records as
 * the webhooks — what a user sees of each customer is the same either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeStandIn, type StripeStandIn } from '../../src/demo/standins/stripe/index.js';
import type { RecordStore } from '../../src/sync/events/store.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { freePort } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { resyncThrough } from '../support/resync.js';

const N = 40;
let stripe: StripeStandIn;
let webhooks: TestPipeline;
let resynced: TestPipeline;
const customerIds: string[] = [];

async function visible(store: RecordStore, id: string): Promise<unknown> {
  const record = await store.findByKey(`stripe:${id}`);
  if (!record) return null;
  const { links, profile, billing, invoices } = record.derived;
  return { links, profile, billing, invoices };
}

beforeAll(async () => {
  const port = await freePort();
  stripe = await startStripeStandIn({
    webhookUrl: `http://127.0.0.1:${port}/webhooks/stripe`,
    webhookSecret: TEST_SECRETS.STRIPE_WEBHOOK_SECRET,
    dropWebhooks: 0.1,
    seed: 7,
    rate: 'test',
  });
  webhooks = await startTestPipeline({ PORT: String(port), ...stripe.env });
  resynced = await startTestPipeline({ ...stripe.env });
}, 30_000);

afterAll(async () => {
  await webhooks?.stop();
  await resynced?.stop();
  await stripe?.close();
});

describe('Stripe resync and reconcile against the Stripe stand-in', () => {
  it('a reconcile pass over the Events API repairs the lost webhooks; a list resync gives the same records', async () => {
    for (let i = 0; i < N; i++) {
      const c = stripe.createCustomer({
        email: `owner${i}@shop${i}.example`,
        name: `Shop ${i}`,
        metadata: { salesforce_account_id: `001STRIPE${String(i).padStart(6, '0')}` },
      });
      customerIds.push(c.id);
      const sub = stripe.createSubscription(c.id, {
        items: [
          { price: { unit_amount: 1000 + i * 10, currency: 'usd', interval: 'month', nickname: `Plan ${i % 3}` } },
        ],
      });
      const invoice = stripe.createInvoice(c.id, {
        subscription: sub.id,
        lines: [{ amount: 1000 + i * 10 }],
        finalize: true,
      });
      if (i % 4 === 0) stripe.failInvoicePayment(invoice.id);
      else stripe.payInvoice(invoice.id);
    }
    await stripe.flushWebhooks();
    await webhooks.drain();
    expect(stripe.droppedWebhooks.length).toBeGreaterThan(0);

    // Stripe's rate limit answers the pass's first reads: the pass waits and reads the page again.
    stripe.failNext(2, 'rate_limit', /\/v1\/events/);
    const report = await webhooks.worker.reconciler.pass();
    // Every lost event the sync reads comes back as drift; every delivered one is a duplicate.
    expect(report.sources.stripe?.error).toBeUndefined();
    expect(report.drift).toBeGreaterThan(0);
    expect(report.drift).toBeLessThanOrEqual(stripe.droppedWebhooks.length);
    expect(report.driftIds).toHaveLength(Math.min(report.drift, 100)); // one per repaired event (an object can have several)
    await webhooks.drain();
    const again = await webhooks.worker.reconciler.pass();
    expect(again.drift).toBe(0);

    // Another daemon that never got a webhook: a resync of Stripe's lists.
    const { summary, streams } = await resyncThrough(resynced, ['stripe']);
    expect(streams).toEqual(['stripe.customers', 'stripe.subscriptions', 'stripe.invoices']);
    expect(summary.counts).toMatchObject({ read: 3 * N, applied: 3 * N, failed: 0, rejected: 0 });
    for (const id of customerIds)
      expect(await visible(resynced.worker.store, id), id).toEqual(await visible(webhooks.worker.store, id));
    const pastDue = (await visible(resynced.worker.store, customerIds[0]!)) as any;
    expect(pastDue.billing.status).toBe('incomplete'); // a first invoice that fails leaves the subscription incomplete, as Stripe does
    expect(pastDue.invoices[0]).toMatchObject({ status: 'open', hostedInvoiceUrl: expect.stringMatching(/^http/) });
  }, 60_000);
});
