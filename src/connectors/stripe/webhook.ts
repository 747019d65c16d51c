/**
 * Stripe signature verification, done by the stripe SDK on the raw bytes
 * (never on a re-serialized body: JSON.stringify changes the bytes and every
 * signature then fails).
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import Stripe from 'stripe';

export type StripeVerifyResult =
  | { ok: true; event: unknown }
  | { ok: false; reason: 'missing_signature' | 'bad_signature' | 'stale_timestamp' | 'malformed_body' | 'thin_event' };

/**
 * The body as the SDK reads bytes (a UTF-8 TextDecoder: a BOM dropped, bad bytes replaced), decoded once per delivery
 * instead of twice per secret tried (constructEvent decodes for the signature and again for its JSON parse).
 */
const utf8 = new TextDecoder('utf8');
/** An empty body stays bytes: the SDK refuses an empty string as "no payload", and reads empty bytes as a body. */
const decoded = (body: Buffer | string): Buffer | string =>
  typeof body === 'string' || body.length === 0 ? body : utf8.decode(body);

/**
 * The SDK's Node crypto with each secret's HMAC key prepared once: `createHmac` with a string key prepares it again
 * on every call. The same HMAC (SHA-256 of the same bytes under the secret's UTF-8 bytes); the SDK still parses the
 * header, checks the tolerance and compares in constant time.
 */
const cryptoProvider = ((): ReturnType<typeof Stripe.createNodeCryptoProvider> => {
  const base = Stripe.createNodeCryptoProvider();
  const keys = new Map<string, KeyObject>();
  return Object.assign(Object.create(base) as typeof base, {
    computeHMACSignature(payload: string, secret: string): string {
      let key = keys.get(secret);
      if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
      return createHmac('sha256', key).update(payload, 'utf8').digest('hex');
    },
  });
})();

/** Tries each configured secret (several endpoints, or a rotation); the first that matches wins. */
export function verifyStripeWebhook(
  rawBody: Buffer | string,
  header: string | undefined,
  secrets: readonly string[],
  toleranceSeconds: number,
): StripeVerifyResult {
  if (!header) return { ok: false, reason: 'missing_signature' };
  const body = decoded(rawBody);
  let result: StripeVerifyResult = { ok: false, reason: 'bad_signature' };
  for (const secret of secrets) {
    result = verifyWithSecret(body, header, secret, toleranceSeconds);
    if (result.ok || result.reason !== 'bad_signature') return result;
  }
  return result;
}

/**
 * The signed `t=` of a Stripe-Signature header, in unix seconds, read as the SDK reads it (the last `t=`,
 * parseInt), so that `t=<now>,t=<future>` or `t=<future>x` cannot show this check another time than the one signed.
 */
function signedAt(header: string): number | undefined {
  let t: number | undefined;
  for (const item of header.split(',')) {
    const [key, value] = item.split('=');
    if (key === 't' && value !== undefined) t = Number.parseInt(value, 10);
  }
  return t === undefined || Number.isNaN(t) ? undefined : t;
}

function verifyWithSecret(
  body: Buffer | string,
  header: string,
  secret: string,
  toleranceSeconds: number,
): StripeVerifyResult {
  try {
    const event = Stripe.webhooks.constructEvent(body, header, secret, toleranceSeconds, cryptoProvider);
    // The SDK only refuses timestamps too far in the past; one far in the future is outside the window too (as for
    // Zendesk and our HMAC endpoints), or a signature made with a skewed clock could be replayed for that long.
    const t = signedAt(header);
    if (t !== undefined && t - Math.floor(Date.now() / 1000) > toleranceSeconds)
      return { ok: false, reason: 'stale_timestamp' };
    return { ok: true, event };
  } catch (err) {
    if (err instanceof Stripe.errors.StripeSignatureVerificationError) {
      return { ok: false, reason: /tolerance/i.test(err.message) ? 'stale_timestamp' : 'bad_signature' };
    }
    // The signature matched, so the bytes are Stripe's: a parse failure is a malformed body, a thin
    // (v2) notification is a kind of event this endpoint does not take.
    if (err instanceof SyntaxError) return { ok: false, reason: 'malformed_body' };
    if (err instanceof Error && /thin event/i.test(err.message)) return { ok: false, reason: 'thin_event' };
    throw err;
  }
}

/** Signs a payload the way Stripe does; for tests, stand-ins and benchmarks. */
export function signStripePayload(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}

// ---- several accounts -----------------------------------------------------------------------

/** What the receiver knows of one account: its id, label, mode and its endpoints' secrets (config-stripe.ts's StripeAccount). */
export interface StripeReceivingAccount {
  id: string | null;
  label: string;
  mode: 'test' | 'live' | null;
  webhookSecrets: readonly string[];
  connect: boolean;
  connectWebhookSecrets: readonly string[];
}

/** The account a delivery is for: whose secret verified it, and through which of its endpoints. */
export interface StripeVerifiedDelivery<A extends StripeReceivingAccount = StripeReceivingAccount> {
  ok: true;
  event: unknown;
  account: A;
  endpoint: 'account' | 'connect';
}

/**
 * Verifies a delivery against every account's secrets (account endpoints and Connect endpoints); the
 * secret that matches names the account and the endpoint (config refuses one secret in two places).
 */
export function verifyStripeDelivery<A extends StripeReceivingAccount>(
  rawBody: Buffer,
  header: string | undefined,
  accounts: readonly A[],
  toleranceSeconds: number,
): StripeVerifiedDelivery<A> | Exclude<StripeVerifyResult, { ok: true }> {
  if (!header) return { ok: false, reason: 'missing_signature' };
  const body = decoded(rawBody);
  for (const account of accounts) {
    for (const endpoint of ['account', 'connect'] as const) {
      const secrets = endpoint === 'account' ? account.webhookSecrets : account.connectWebhookSecrets;
      if (secrets.length === 0) continue;
      const result = verifyStripeWebhook(body, header, secrets, toleranceSeconds);
      if (result.ok) return { ok: true, event: result.event, account, endpoint };
      if (result.reason !== 'bad_signature') return result;
    }
  }
  return { ok: false, reason: 'bad_signature' };
}

export type StripeAttribution =
  | { ok: true; accountId: string | null; connected: boolean }
  | { ok: false; reason: 'account_mismatch'; message: string };

const mismatch = (message: string): StripeAttribution => ({ ok: false, reason: 'account_mismatch', message });

/**
 * Whose event a verified delivery is. An account endpoint sends events of its own account only, which carry
 * no `account`: one that names another account was not sent by Stripe for this account (or the Connect
 * endpoint's secret was configured as the account endpoint's) and is refused. A Connect endpoint sends
 * events of the platform's connected accounts, each naming it in `account`; the platform's signature over
 * the body is what makes that name trustworthy. Nothing is guessed: an `account` of any other shape, or a
 * Connect event without one, is refused.
 */
export function attributeStripeEvent(
  event: unknown,
  delivery: { account: StripeReceivingAccount; endpoint: 'account' | 'connect' },
): StripeAttribution {
  const claimed = typeof event === 'object' && event !== null ? (event as { account?: unknown }).account : undefined;
  const { account, endpoint } = delivery;
  if (endpoint === 'account') {
    if (claimed === undefined || claimed === null) return { ok: true, accountId: account.id, connected: false };
    if (account.id !== null && claimed === account.id) return { ok: true, accountId: account.id, connected: false };
    return mismatch(
      `signed with the account endpoint secret of Stripe account ${account.label}, but the event names another account: not an event of ${account.label}`,
    );
  }
  if (typeof claimed !== 'string' || !/^acct_[A-Za-z0-9]{1,64}$/.test(claimed)) {
    return mismatch(
      `signed with the Connect endpoint secret of Stripe account ${account.label}, but the event names no connected account (acct_…)`,
    );
  }
  if (claimed === account.id)
    return mismatch(
      `a Connect event of platform ${account.label} naming the platform itself: its own events come to its account endpoint`,
    );
  return { ok: true, accountId: claimed, connected: true };
}
