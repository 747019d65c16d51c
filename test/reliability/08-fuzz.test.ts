/**
 * Fuzz (fast-check): 10,000 hostile requests across every endpoint — Stripe,
 * Zendesk, Salesforce Outbound Messages (SOAP) and signed JSON, portal events,
 * the admin area: garbage, truncated, oversized, wrongly signed, replayed (old
 * timestamps), type-confused (a valid signature over a payload whose required
 * fields have the wrong type), and wrong methods. The daemon never crashes,
 * never answers a 5xx (the documented 503 aside), answers each with the status
 * the failure table of docs/how-it-works.md documents, and enqueues nothing.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { signStripePayload } from '../../src/connectors/stripe/webhook.js';
import { signZendeskPayload } from '../../src/connectors/zendesk/signature.js';
import { signHmac } from '../../src/webhooks/hmac.js';
import { TEST_SECRETS } from '../support/daemon.js';
import { announce, ROOT, scaled, seedFor } from './support/env.js';
import { startStack, type Stack } from './support/stack.js';
import { scenario } from './support/summary.js';
import { WebhookClient } from './support/wire.js';

const CASES = scaled(10_000, 500);
const SEED = seedFor(808);
const ADMIN_TOKEN = 'reliability_admin_token_0123456789';
const LIMIT = 1024 * 1024; // server.bodyLimitBytes
const s = scenario(
  '08-fuzz',
  'fast-check: malformed, truncated, oversized, wrongly signed, replayed, type-confused payloads',
);

let stack: Stack | undefined;
let client: WebhookClient | undefined;

afterAll(async () => {
  await client?.close();
  await stack?.stop();
  s.save();
});

type Endpoint = 'stripe' | 'zendesk' | 'salesforce-json' | 'salesforce-soap' | 'portal';
type Kind =
  'garbage' | 'truncated' | 'oversized' | 'wrong-signature' | 'replayed' | 'type-confused' | 'wrong-method' | 'admin';

interface Case {
  endpoint: Endpoint | 'admin';
  kind: Kind;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The statuses docs/how-it-works.md (Failure behaviour) documents for this input. */
  allowed: number[];
}

const fixture = (path: string) => readFileSync(resolve(ROOT, 'test/fixtures', path), 'utf8');
/** Compact JSON, so that every strict prefix of it is invalid JSON. */
const compact = (path: string) => JSON.stringify(JSON.parse(fixture(path)));
const VALID: Record<Endpoint, string[]> = {
  stripe: ['stripe/customer.created.json', 'stripe/invoice.paid.json', 'stripe/customer.subscription.updated.json'].map(
    compact,
  ),
  zendesk: ['zendesk/user.created.json', 'zendesk/ticket.status_changed.json', 'zendesk/organization.created.json'].map(
    compact,
  ),
  'salesforce-json': ['salesforce/account-cdc-update.json', 'salesforce/contact-cdc-create.json'].map(compact),
  'salesforce-soap': [
    fixture('salesforce/account-outbound.xml').replace(
      /<OrganizationId>[^<]*</,
      `<OrganizationId>${TEST_SECRETS.SALESFORCE_ORG_ID}<`,
    ),
  ],
  portal: [
    JSON.stringify({
      events: [
        {
          id: 'fz-1',
          type: 'search',
          occurred_at: '2026-11-23T10:15:00Z',
          contact: { email: 'ann@example.com' },
          session_id: 's-1',
          query: 'invoice',
          result_count: 0,
        },
      ],
    }),
  ],
};
/** Fields each payload's schema requires, by path; type-confusing one of them must not yield an event. */
const REQUIRED: Record<Exclude<Endpoint, 'salesforce-soap'>, string[][]> = {
  stripe: [['id'], ['created'], ['data'], ['data', 'object']],
  zendesk: [['id'], ['detail'], ['time'], ['detail', 'id']],
  'salesforce-json': [
    ['ChangeEventHeader'],
    ['ChangeEventHeader', 'recordIds'],
    ['ChangeEventHeader', 'commitTimestamp'],
    ['payload'],
    ['payload', 'ChangeEventHeader'],
  ],
  portal: [['events'], ['events', '0', 'occurred_at'], ['events', '0', 'contact'], ['events', '0', 'id']],
};
const PATHS: Record<Endpoint, string> = {
  stripe: '/webhooks/stripe',
  zendesk: '/webhooks/zendesk',
  'salesforce-json': '/webhooks/salesforce',
  'salesforce-soap': `/webhooks/salesforce?token=${TEST_SECRETS.SALESFORCE_OUTBOUND_TOKEN}`,
  portal: '/events/portal',
};
const SIGNED: Exclude<Endpoint, 'salesforce-soap'>[] = ['stripe', 'zendesk', 'salesforce-json', 'portal'];
const ALL: Endpoint[] = [...SIGNED, 'salesforce-soap'];

const zendeskTs = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const nowS = () => Math.floor(Date.now() / 1000);

/** Headers as the endpoint's sender signs `body` with `secret` at unix time `t`. */
function sign(endpoint: Endpoint, body: string, t: number, secret?: string): Record<string, string> {
  const json = { 'content-type': 'application/json' };
  switch (endpoint) {
    case 'stripe':
      return { ...json, 'stripe-signature': signStripePayload(body, secret ?? TEST_SECRETS.STRIPE_WEBHOOK_SECRET, t) };
    case 'zendesk':
      return {
        ...json,
        'x-zendesk-webhook-signature': signZendeskPayload(
          body,
          secret ?? TEST_SECRETS.ZENDESK_WEBHOOK_SECRET,
          zendeskTs(t),
        ),
        'x-zendesk-webhook-signature-timestamp': zendeskTs(t),
      };
    case 'salesforce-json':
      return {
        ...json,
        'x-portal-sync-signature': signHmac(body, secret ?? TEST_SECRETS.SALESFORCE_WEBHOOK_SECRET, t),
      };
    case 'portal':
      return { ...json, 'x-portal-sync-signature': signHmac(body, secret ?? TEST_SECRETS.PORTAL_EVENTS_SECRET, t) };
    case 'salesforce-soap':
      return { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' };
  }
}

// ---- arbitraries ------------------------------------------------------------------------

const garbageText = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json({ maxDepth: 3 }),
  fc.constantFrom(
    '',
    '{',
    '[]',
    'null',
    '<',
    '<?xml version="1.0"?><a>',
    '{"id":',
    '\u0000\u0001',
    '<soapenv:Envelope>',
  ),
);
const garbageHeaders = (endpoint: Endpoint) =>
  fc
    .record(
      {
        'content-type': fc.constantFrom(
          'application/json',
          'text/xml',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/octet-stream',
        ),
        'stripe-signature': fc.oneof(fc.string({ maxLength: 120 }), fc.constant(`t=${nowS()},v1=${'0'.repeat(64)}`)),
        'x-zendesk-webhook-signature': fc.string({ maxLength: 60 }),
        'x-zendesk-webhook-signature-timestamp': fc.oneof(fc.string({ maxLength: 30 }), fc.constant(zendeskTs(nowS()))),
        'x-portal-sync-signature': fc.oneof(
          fc.string({ maxLength: 120 }),
          fc.constant(`t=${nowS()},v1=${'a'.repeat(64)}`),
        ),
      },
      { requiredKeys: [] },
    )
    .map((h) => {
      const out: Record<string, string> = {};
      // A header value must be printable to be sent at all.
      for (const [k, v] of Object.entries(h)) if (v !== undefined && /^[\x20-\x7e]*$/.test(v)) out[k] = v;
      if (endpoint === 'salesforce-soap') delete out['x-portal-sync-signature'];
      return out;
    });

const SIGNATURE_REFUSED = [400, 401];

function garbage(): fc.Arbitrary<Case> {
  return fc.tuple(fc.constantFrom(...ALL), garbageText, fc.boolean()).chain(([endpoint, body, tokenless]) =>
    garbageHeaders(endpoint).map((headers): Case => {
      // Outbound Messages carry no signature: garbage there is garbage XML behind a token, or no token at all.
      const path =
        endpoint === 'salesforce-soap' && tokenless
          ? '/webhooks/salesforce?token=wrong_token_0123456789'
          : PATHS[endpoint];
      return { endpoint, kind: 'garbage', method: 'POST', path, headers, body, allowed: SIGNATURE_REFUSED };
    }),
  );
}

function truncated(): fc.Arbitrary<Case> {
  return fc
    .tuple(fc.constantFrom(...ALL), fc.nat(), fc.integer({ min: 1, max: 1_000_000 }), fc.boolean())
    .map(([endpoint, pick, cut, signFull]) => {
      const full = VALID[endpoint][pick % VALID[endpoint].length]!;
      const body = full.slice(0, cut % full.length);
      // Signed over the full body (cut in transit: the signature fails) or over what arrived (it parses as nothing).
      const headers = sign(endpoint, signFull ? full : body, nowS());
      return {
        endpoint,
        kind: 'truncated',
        method: 'POST',
        path: PATHS[endpoint],
        headers,
        body,
        allowed: endpoint === 'salesforce-soap' ? [400] : SIGNATURE_REFUSED,
      };
    });
}

function oversized(): fc.Arbitrary<Case> {
  return fc.tuple(fc.constantFrom(...ALL), fc.integer({ min: 1, max: 64 * 1024 })).map(([endpoint, extra]) => {
    const body = `{"padding":"${'x'.repeat(LIMIT + extra)}"}`;
    return {
      endpoint,
      kind: 'oversized',
      method: 'POST',
      path: PATHS[endpoint],
      headers: sign(endpoint, body, nowS()),
      body,
      allowed: [413],
    };
  });
}

function wrongSignature(): fc.Arbitrary<Case> {
  return fc
    .tuple(fc.constantFrom(...ALL), fc.nat(), fc.string({ minLength: 16, maxLength: 40 }))
    .map(([endpoint, pick, secret]): Case => {
      const body = VALID[endpoint][pick % VALID[endpoint].length]!;
      if (endpoint === 'salesforce-soap') {
        const token = `${secret.replace(/[^\w]/g, 'x')}_not_the_token`;
        return {
          endpoint,
          kind: 'wrong-signature',
          method: 'POST',
          path: `/webhooks/salesforce?token=${token}`,
          headers: sign(endpoint, body, nowS()),
          body,
          allowed: [401],
        };
      }
      return {
        endpoint,
        kind: 'wrong-signature',
        method: 'POST',
        path: PATHS[endpoint],
        headers: sign(endpoint, body, nowS(), `whsec_${secret}`),
        body,
        allowed: [401],
      };
    });
}

function replayed(): fc.Arbitrary<Case> {
  // Past the 300 s tolerance, either way (a replay from the past, a forged timestamp in the future).
  return fc
    .tuple(fc.constantFrom(...SIGNED), fc.nat(), fc.integer({ min: 301, max: 100_000_000 }), fc.boolean())
    .map(([endpoint, pick, age, future]) => {
      const body = VALID[endpoint][pick % VALID[endpoint].length]!;
      const t = future ? nowS() + age : nowS() - age;
      return {
        endpoint,
        kind: 'replayed',
        method: 'POST',
        path: PATHS[endpoint],
        headers: sign(endpoint, body, t),
        body,
        allowed: [401],
      };
    });
}

const wrongTyped = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  fc.string({ maxLength: 20 }),
);

function typeConfused(): fc.Arbitrary<Case> {
  const json = fc
    .tuple(fc.constantFrom(...SIGNED), fc.nat(), fc.nat(), wrongTyped)
    .map(([endpoint, pick, which, value]): Case | null => {
      const candidates = VALID[endpoint].map((b) => JSON.parse(b) as Record<string, unknown>);
      const payload = candidates[pick % candidates.length]!;
      const paths = REQUIRED[endpoint].filter((p) => has(payload, p));
      const path = paths[which % paths.length]!;
      const original = get(payload, path);
      if (
        typeof original === typeof value &&
        Array.isArray(original) === Array.isArray(value) &&
        (original === null) === (value === null)
      )
        return null;
      // Zendesk ids are documented as strings or positive integers alike: that is not a confusion.
      if (
        endpoint === 'zendesk' &&
        path.join('.') === 'detail.id' &&
        Number.isSafeInteger(value) &&
        (value as number) > 0
      )
        return null;
      set(payload, path, value);
      const body = JSON.stringify(payload);
      // Ignored (200), quarantined (202) or not a payload at all (400): never an event.
      return {
        endpoint,
        kind: 'type-confused',
        method: 'POST',
        path: PATHS[endpoint],
        headers: sign(endpoint, body, nowS()),
        body,
        allowed: [200, 202, 400],
      };
    });
  // XML has one type, text: the confusion there is an element where a value belongs, or no value where one is required.
  const soap = fc
    .tuple(
      fc.constantFrom('OrganizationId', 'sf:Id', 'sf:SystemModstamp', 'sf:LastModifiedDate'),
      fc.constantFrom('<x><y>1</y></x>', '<sf:Id>1</sf:Id><sf:Id>2</sf:Id>', ''),
    )
    .map(([tag, value]): Case | null => {
      if (value === '' && tag !== 'OrganizationId' && tag !== 'sf:Id') return null; // an empty date falls back to the other one, rightly
      const xml = VALID['salesforce-soap'][0]!;
      const body = xml.replace(new RegExp(`<${tag}>[^<]*</${tag}>`), `<${tag}>${value}</${tag}>`);
      // Quarantined notifications are acknowledged (200, so Salesforce stops retrying them): the queue is checked too.
      return {
        endpoint: 'salesforce-soap',
        kind: 'type-confused',
        method: 'POST',
        path: PATHS['salesforce-soap'],
        headers: sign('salesforce-soap', body, nowS()),
        body,
        allowed: [200, 400, 401],
      };
    });
  return fc.oneof(json, soap).filter((c): c is Case => c !== null);
}

function wrongMethod(): fc.Arbitrary<Case> {
  return fc
    .tuple(fc.constantFrom(...ALL), fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE'))
    .map(([endpoint, method]) => ({
      endpoint,
      kind: 'wrong-method' as const,
      method,
      path: PATHS[endpoint],
      headers: {},
      body: '',
      allowed: [404],
    }));
}

function admin(): fc.Arbitrary<Case> {
  const segment = fc.oneof(
    fc.constantFrom(
      '',
      'queues',
      'deflection',
      'login',
      'logout',
      'api',
      '..',
      '%2e%2e',
      'queues/api/queues',
      'login/../queues',
    ),
    fc.webSegment(),
  );
  const auth = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 40 }).map((t) => `Bearer ${t}`),
    fc.constant(`Bearer ${ADMIN_TOKEN}x`),
    fc.constant(`bearer ${ADMIN_TOKEN.slice(1)}`),
    fc.constant(`Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`),
  );
  const cookie = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 60 }).map((v) => `portal_sync_admin=${v}`),
    fc.constant(`portal_sync_admin=9999999999.${'A'.repeat(43)}`),
  );
  return fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      segment,
      auth,
      cookie,
      fc.constantFrom('application/json', 'text/html', '*/*'),
      garbageText,
    )
    .map(([method, seg, authorization, c, accept, body]) => {
      const headers: Record<string, string> = { accept, 'content-type': 'application/x-www-form-urlencoded' };
      if (authorization && /^[\x20-\x7e]*$/.test(authorization)) headers['authorization'] = authorization;
      if (c && /^[\x20-\x7e]*$/.test(c)) headers['cookie'] = c;
      const path = `/admin/${seg}`;
      // Without the token or a session only the login form, its POST (refused) and logout answer anything but 401/404;
      // past the minute's wrong tokens, 429 (the throttle).
      const open = /^\/admin\/(login|logout)\/?$/.test(path);
      return {
        endpoint: 'admin' as const,
        kind: 'admin' as const,
        method,
        path,
        headers,
        body: method === 'GET' ? '' : body,
        allowed: open ? [200, 303, 400, 401, 404, 413, 415, 429] : [401, 404, 429],
      };
    });
}

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  { arbitrary: garbage(), weight: 25 },
  { arbitrary: truncated(), weight: 15 },
  { arbitrary: oversized(), weight: 2 },
  { arbitrary: wrongSignature(), weight: 15 },
  { arbitrary: replayed(), weight: 12 },
  { arbitrary: typeConfused(), weight: 18 },
  { arbitrary: wrongMethod(), weight: 3 },
  { arbitrary: admin(), weight: 10 },
);

// ---- tiny path helpers for JSON payloads ------------------------------------------------

type Json = Record<string, unknown>;
function get(o: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Json)[k] : undefined), o);
}
function has(o: unknown, path: string[]): boolean {
  const parent = get(o, path.slice(0, -1));
  return parent !== null && typeof parent === 'object' && path.at(-1)! in (parent as Json);
}
function set(o: unknown, path: string[], value: unknown): void {
  (get(o, path.slice(0, -1)) as Json)[path.at(-1)!] = value;
}

// ---- the property -------------------------------------------------------------------------

describe('fuzz', () => {
  it('10,000 hostile requests: no crash, no 5xx, the documented statuses, nothing enqueued', async () => {
    announce('08-fuzz', { cases: CASES, seed: SEED });
    s.set({ seed: SEED, fuzzCases: CASES });
    stack = await startStack('fuzz', { env: { ADMIN_TOKEN }, worker: false, logLevel: 'info' });
    client = new WebhookClient(stack.daemon.url, { connections: 4 });
    const histogram: Record<string, Record<number, number>> = {};
    let unexpected5xx = 0;
    let ran = 0;
    let failure: unknown;
    try {
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => {
          ran++;
          const answer = await client!.once({ path: c.path, body: c.body, headers: c.headers }, c.method);
          const key = `${c.endpoint} ${c.kind}`;
          (histogram[key] ??= {})[answer.status] = (histogram[key]?.[answer.status] ?? 0) + 1;
          if (answer.status >= 500 && answer.status !== 503) unexpected5xx++;
          if (!c.allowed.includes(answer.status)) {
            throw new Error(
              `${c.method} ${c.path.split('?')[0]} (${c.kind}) answered ${answer.status} ${answer.error ?? ''} ${answer.text.slice(0, 200)}; documented: ${c.allowed.join('/')}`,
            );
          }
          if (answer.status === 200 && c.endpoint !== 'admin' && /"accepted":[1-9]/.test(answer.text))
            throw new Error(`${c.kind} ${c.endpoint} accepted an event: ${answer.text}`);
          // A SOAP Ack does not say what was kept: look at the queue itself.
          if (c.endpoint === 'salesforce-soap' && answer.status === 200 && (await stack!.daemon.queue.count()) > 0)
            throw new Error(`${c.kind} SOAP message was enqueued: ${c.body.slice(0, 300)}`);
        }),
        { numRuns: CASES, seed: SEED, endOnFailure: true },
      );
    } catch (err) {
      failure = err;
    }
    const counts = await stack.daemon.queue.getJobCounts(
      'waiting',
      'delayed',
      'active',
      'completed',
      'failed',
      'prioritized',
    );
    const enqueued = Object.values(counts).reduce((a, b) => a + b, 0);
    const health = await client.once({ path: '/healthz', body: '', headers: {} }, 'GET');
    stack.log.flush();
    const unhandled = readFileSync(stack.log.path, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"unhandled error"')).length;
    s.set({ fuzzCrashes: (health.status === 200 ? 0 : 1) + unhandled, unexpected5xx, eventsSent: ran, applied: 0 });
    s.detail('statuses', histogram);
    s.detail('enqueued', enqueued);
    s.detail('quarantined', (await stack.daemon.ingestor.listQuarantine()).length);

    if (failure) throw failure;
    expect(ran).toBe(CASES);
    expect(health.status).toBe(200);
    expect(unhandled).toBe(0);
    expect(unexpected5xx).toBe(0);
    expect(enqueued).toBe(0);
    s.pass();
  }, 240_000);
});
