/**
 * The YAML side of outbound webhooks (`outbound:` limits and the
 * `subscriptions:` list) and the resolution of each subscription's secret
 * from the environment variable it names. A secret never lives in YAML: the
 * schema has no key for one, so writing it there is an unknown-key error.
 */
import { z } from 'zod';
import { isKnownPattern, LINK_NAMES } from './types.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const OutboundSettingsSchema = z
  .strictObject({
    concurrency: z.number().int().min(1).max(256),
    backoffMs: z.number().int().min(10).max(HOUR_MS),
    maxBackoffMs: z.number().int().min(100).max(DAY_MS),
    pauseAfterMs: z
      .number()
      .int()
      .min(1_000)
      .max(30 * DAY_MS),
    retentionMs: z
      .number()
      .int()
      .min(60_000)
      .max(90 * DAY_MS),
    attemptsKept: z.number().int().min(10).max(100_000),
  })
  .refine(
    (o) => o.retentionMs >= o.pauseAfterMs,
    'retentionMs must be at least pauseAfterMs, so that a paused subscription can be replayed',
  );
export type OutboundSettings = z.infer<typeof OutboundSettingsSchema>;

const eventPattern = z
  .string()
  .refine(
    isKnownPattern,
    'expected an event type (customer.created, invoice.available…), a family like customer.*, or *',
  );

const SubscriptionSchema = z.strictObject({
  id: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]{0,39}$/,
      'expected lower-case letters, digits and dashes (at most 40), e.g. billing-service',
    ),
  url: z
    .string()
    .trim()
    .refine(
      (s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol),
      'expected the http(s) URL that receives the events',
    )
    // fetch refuses URLs with credentials, and a password in a URL ends up in error texts: the signature authenticates us.
    .refine(
      (s) => !URL.canParse(s) || (new URL(s).username === '' && new URL(s).password === ''),
      'no user:password@ in the URL: consumers authenticate deliveries by their signature',
    ),
  secretEnv: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]*$/, 'expected the NAME of the environment variable that holds the whsec_… secret'),
  events: z.array(eventPattern).min(1),
  requires: z.array(z.enum(LINK_NAMES)).optional(),
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  allowPrivateNetworks: z.boolean().default(false),
});
export type SubscriptionSettings = z.infer<typeof SubscriptionSchema>;

export const SubscriptionsSchema = z
  .array(SubscriptionSchema)
  .refine((subs) => new Set(subs.map((s) => s.id)).size === subs.length, 'every subscription needs its own id');

/** Standard Webhooks: `whsec_` + base64 of 24 to 64 random bytes. */
export function isWebhookSecret(value: string): boolean {
  const m = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (!m) return false;
  const bytes = Buffer.from(m[1]!, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

/**
 * Reads each subscription's secrets (comma-separated: old and new while rotating) from the variable it
 * names. Problems name the variable and the subscription, never the value.
 */
export function resolveSubscriptionSecrets(
  subs: readonly SubscriptionSettings[],
  env: NodeJS.ProcessEnv,
  problems: string[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const sub of subs) {
    const raw = env[sub.secretEnv]?.trim();
    if (!raw) {
      problems.push(
        `${sub.secretEnv}: required by subscription ${sub.id} (its Standard Webhooks signing secret, whsec_…)`,
      );
      continue;
    }
    const secrets = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (!secrets.every(isWebhookSecret)) {
      problems.push(
        `${sub.secretEnv}: expected whsec_ followed by base64 of 24 to 64 bytes, several comma-separated (subscription ${sub.id})`,
      );
      continue;
    }
    out[sub.id] = secrets;
  }
  return out;
}
