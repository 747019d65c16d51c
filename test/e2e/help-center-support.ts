/**
 * The world of the Help Center kit's browser tests: the daemon (web + worker) on a known port,
 * the Stripe stand-in sending its signed webhooks to it, and the Zendesk stand-in sending its
 * event webhooks, serving the help center token and keys, and the kit's theme pages on its own
 * origin (PORTAL_ORIGINS). Customers are made the way people make them: an admin creates the
 * Zendesk organization and users through the API, billing happens in Stripe.
 */
import { startStripeStandIn, type StripeStandIn } from '../../src/demo/standins/stripe/index.js';
import { startZendeskStandIn, type ZendeskStandIn, type ZendeskUser } from '../../src/demo/standins/zendesk/index.js';
import type { Config } from '../../src/config.js';
import { createPortalTarget } from '../../src/connectors/targets.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { freePort } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';

export interface KitWorld {
  stripe: StripeStandIn;
  zendesk: ZendeskStandIn;
  pipeline: TestPipeline;
  /** Until every webhook owed is delivered and the events queue is idle. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startKitWorld(
  env: Record<string, string> = {},
  tweak: (c: Config) => void = () => undefined,
): Promise<KitWorld> {
  const port = await freePort();
  const daemonUrl = `http://127.0.0.1:${port}`;
  const stripe = await startStripeStandIn({
    webhookUrl: `${daemonUrl}/webhooks/stripe`,
    webhookSecret: TEST_SECRETS.STRIPE_WEBHOOK_SECRET,
  });
  const zendesk = await startZendeskStandIn({
    webhook: { url: `${daemonUrl}/webhooks/zendesk`, secret: TEST_SECRETS.ZENDESK_WEBHOOK_SECRET },
  });
  const pipeline = await startTestPipeline(
    {
      PORT: String(port),
      ...stripe.env,
      ZENDESK_BASE_URL: zendesk.baseUrl,
      ZENDESK_EMAIL: zendesk.credentials.email,
      ZENDESK_API_TOKEN: zendesk.credentials.token,
      PORTAL_ORIGINS: zendesk.origin,
      ...env,
    },
    (c) => {
      c.view.rateLimit.perMinute = 1_000; // the tests reload often; the limit has its own tests
      tweak(c);
    },
    // With PORTAL_TARGET set, the worker pushes to the stand-ins like a deployment does.
    createPortalTarget,
  );
  zendesk.theme.settings.portal_sync_api_url = daemonUrl;
  const settle = async () => {
    for (let pass = 0; pass < 5; pass++) {
      await Promise.all([stripe.flushWebhooks(), zendesk.flushWebhooks()]);
      await pipeline.drain();
    }
  };
  return {
    stripe,
    zendesk,
    pipeline,
    settle,
    async stop() {
      await pipeline.stop();
      await zendesk.close();
      await stripe.close();
    },
  };
}

async function zendeskApi<T>(zd: ZendeskStandIn, method: string, path: string, body: unknown): Promise<T> {
  const { email, token } = zd.credentials;
  const res = await fetch(`${zd.baseUrl}${path}`, {
    method,
    body: JSON.stringify(body),
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${email}/token:${token}`).toString('base64')}`,
    },
  });
  if (!res.ok) throw new Error(`Zendesk ${method} ${path} answered ${res.status}`);
  return (await res.json()) as T;
}

export interface KitCustomer {
  organizationId: number;
  user: ZendeskUser;
  customerId: string;
  subscriptionId: string;
  invoiceIds: string[];
}

const TEAM = {
  id: 'price_KitTeamMonthly',
  nickname: 'Team (monthly)',
  product: 'prod_KitTeam',
  unit_amount: 4900,
  currency: 'usd',
  interval: 'month' as const,
};

/**
 * A company as the platforms hold it: a Zendesk organization with one end user, a Stripe customer
 * naming that organization, a Team subscription, a paid first invoice and, when `pastDue`, a
 * renewal whose card is declined.
 */
export async function createCustomer(
  w: KitWorld,
  name: string,
  email: string,
  opts: { pastDue: boolean },
): Promise<KitCustomer> {
  const { organization } = await zendeskApi<{ organization: { id: number } }>(
    w.zendesk,
    'POST',
    '/organizations.json',
    { organization: { name } },
  );
  const { user } = await zendeskApi<{ user: ZendeskUser }>(w.zendesk, 'POST', '/users.json', {
    user: { name: `${name} admin`, email, organization_id: organization.id, role: 'end-user', verified: true },
  });
  const customer = w.stripe.createCustomer({
    name,
    email: `billing@${name.toLowerCase().replace(/\W+/g, '')}.example`,
    metadata: { zendesk_organization_id: String(organization.id) },
  });
  w.stripe.attachPaymentMethod(customer.id, { brand: 'visa', last4: '4242', makeDefault: true });
  const sub = w.stripe.createSubscription(customer.id, { items: [{ price: TEAM, quantity: 1 }] });
  const first = w.stripe.payInvoice(w.stripe.createInvoice(customer.id, { subscription: sub.id }).id);
  const invoiceIds = [first.id];
  if (opts.pastDue) {
    const renewal = w.stripe.createInvoice(customer.id, { subscription: sub.id, billing_reason: 'subscription_cycle' });
    invoiceIds.push(w.stripe.failInvoicePayment(renewal.id).id);
  }
  await w.settle();
  return { organizationId: organization.id, user, customerId: customer.id, subscriptionId: sub.id, invoiceIds };
}
