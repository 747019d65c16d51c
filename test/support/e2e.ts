/** Shared by the end-to-end tests: ports, polling, and webhooks signed the way each platform signs them. */
import { expect } from 'vitest';
import type { RunningDaemon } from '../../src/daemon.js';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { signZendeskPayload } from '../../src/connectors/zendesk/signature.js';
import type { SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import type { ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { TEST_SECRETS } from './daemon.js';
import { fixtureJson, post } from './http.js';

/** For a daemon's or a stand-in's HTTP port; a redis-server is started with spawnRedis, which checks it got the port. */
export { freePort } from '../../src/sync/redis/spawn-redis.js';

/** Polls `read` (sync or async) until it gives a truthy value. */
export async function until<T>(
  what: string,
  read: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 10_000,
): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await read();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let seq = 0;

/** A Stripe fixture with a fresh event id, edited, signed and posted; asserts the 200 and returns the event. */
export async function sendStripe(
  daemon: Pick<RunningDaemon, 'url'>,
  file: string,
  edit: (e: any) => void = () => undefined,
): Promise<any> {
  const event = fixtureJson<any>(`stripe/${file}`);
  event.id = `evt_e2e_${process.pid}_${seq++}`;
  edit(event);
  const body = JSON.stringify(event);
  const res = await post(daemon, '/webhooks/stripe', body, {
    'stripe-signature': signStripePayload(body, TEST_SECRETS.STRIPE_WEBHOOK_SECRET),
  });
  expect(res.status).toBe(200);
  return event;
}

/** A Zendesk webhook fixture, edited, signed and posted; asserts the 200. */
export async function sendZendesk(
  daemon: Pick<RunningDaemon, 'url'>,
  file: string,
  edit: (e: any) => void,
): Promise<void> {
  const event = fixtureJson<any>(`zendesk/${file}`);
  edit(event);
  const body = JSON.stringify(event);
  const ts = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const res = await post(daemon, '/webhooks/zendesk', body, {
    'x-zendesk-webhook-signature': signZendeskPayload(body, TEST_SECRETS.ZENDESK_WEBHOOK_SECRET, ts),
    'x-zendesk-webhook-signature-timestamp': ts,
  });
  expect(res.status).toBe(200);
}

/** The env that points both portal targets at the stand-ins. */
export function standInTargetsEnv(zd: ZendeskStandIn, sf: SalesforceStandIn): Record<string, string> {
  return {
    PORTAL_TARGET: 'zendesk,salesforce',
    ZENDESK_BASE_URL: zd.baseUrl,
    ZENDESK_EMAIL: zd.credentials.email,
    ZENDESK_API_TOKEN: zd.credentials.token,
    SALESFORCE_INSTANCE_URL: sf.instanceUrl,
    SALESFORCE_ACCESS_TOKEN: sf.accessToken,
  };
}
