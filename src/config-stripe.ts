/**
 * The Stripe accounts a deployment reads: the YAML `stripe.accounts` list (id, label, mode, and the NAMES of
 * the environment variables that hold each account's API key and webhook secrets; a secret never lives in
 * YAML), or, when the list is empty, the one account of STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET /
 * STRIPE_ACCOUNT_ID as every release before read it. Every problem names its key and is reported at once.
 *
 * An account with `connect: true` is a Connect platform: its Connect endpoint's secrets
 * (`connectWebhookSecretsEnv`) verify events of its connected accounts, which carry `account`.
 */
import { z } from 'zod';

/** Below this many characters (after any fixed prefix like whsec_) no secret is accepted: a short one can be guessed. */
export const MIN_SECRET_CHARS = 16;

export const STRIPE_ACCOUNT_ID = /^acct_[A-Za-z0-9]{1,64}$/;
const envName = (what: string) =>
  z.string().regex(/^[A-Z][A-Z0-9_]*$/, `expected the NAME of the environment variable that holds ${what}`);

const StripeAccountEntrySchema = z.strictObject({
  id: z.string().regex(STRIPE_ACCOUNT_ID, 'expected a Stripe account id, acct_…'),
  label: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'expected lower-case letters, digits, - and _ (at most 32), e.g. eu'),
  mode: z.enum(['test', 'live']).nullable().default(null),
  secretKeyEnv: envName('the sk_…/rk_… API key').optional(),
  webhookSecretsEnv: envName("the account endpoint's whsec_… secrets").optional(),
  connect: z.boolean().default(false),
  connectWebhookSecretsEnv: envName("the Connect endpoint's whsec_… secrets").optional(),
});

export const StripeSettingsSchema = z.strictObject({
  mode: z.enum(['test', 'live']).nullable(),
  accounts: z.array(StripeAccountEntrySchema).default([]),
});
export type StripeSettings = z.infer<typeof StripeSettingsSchema>;

/** One Stripe account as the daemon uses it. */
export interface StripeAccount {
  /** `acct_…`; null only for the one account of a single-account deployment that has not named it (STRIPE_ACCOUNT_ID). */
  id: string | null;
  label: string;
  /** Its mode: configured, else its key's; null when neither says (events of both modes are applied). */
  mode: 'test' | 'live' | null;
  secretKey?: string;
  /** The account endpoint's secrets: events of this account itself (never carrying `account`). */
  webhookSecrets: string[];
  /** A Connect platform: events of its connected accounts arrive on its Connect endpoint. */
  connect: boolean;
  /** The Connect endpoint's secrets: events that carry `account`, the connected account they come from. */
  connectWebhookSecrets: string[];
}

const list = (s: string | undefined): string[] =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
const isKey = (s: string) =>
  /^(sk|rk)_(test|live)_/.test(s) && s.replace(/^(sk|rk)_(test|live)_/, '').length >= MIN_SECRET_CHARS;
const isWhsec = (s: string) => /^whsec_/.test(s) && s.length - 'whsec_'.length >= MIN_SECRET_CHARS;
const modeOfKey = (key: string | undefined): 'test' | 'live' | null =>
  key === undefined ? null : /^(sk|rk)_live_/.test(key) ? 'live' : 'test';

/** The legacy variables, as parsed by EnvSchema (or as given, when some failed to parse). */
export interface LegacyStripeEnv {
  STRIPE_SECRET_KEY?: string | undefined;
  STRIPE_WEBHOOK_SECRET?: string | undefined;
  STRIPE_ACCOUNT_ID?: string | undefined;
}

/** What names an account's mode in messages: stripe.mode for the single account, its entry's label otherwise. */
export function modeSetting(account: Pick<StripeAccount, 'label'>, listed: boolean): string {
  return listed ? `the mode of Stripe account ${account.label}` : 'stripe.mode';
}

function modeOf(
  setting: string,
  configured: 'test' | 'live' | null,
  key: string | undefined,
  keyName: string,
  problems: string[],
): 'test' | 'live' | null {
  const ofKey = modeOfKey(key);
  if (configured !== null && ofKey !== null && configured !== ofKey) {
    problems.push(
      `${keyName}: a ${ofKey} key, but ${setting} is ${configured}: resync and reconcile would read the other mode's objects`,
    );
  }
  return configured ?? ofKey;
}

/**
 * The accounts, and every problem with them: an env variable an entry names but that is unset or
 * malformed, two accounts with one id, label or secret (a delivery must name ONE account), a Connect
 * secret on an account that is not a platform, unnamed accounts where there are several.
 */
export function resolveStripeAccounts(
  settings: StripeSettings,
  legacy: LegacyStripeEnv,
  env: NodeJS.ProcessEnv,
  problems: string[],
  warnings: string[],
): StripeAccount[] {
  if (settings.accounts.length === 0) {
    const mode = modeOf('stripe.mode', settings.mode, legacy.STRIPE_SECRET_KEY, 'STRIPE_SECRET_KEY', problems);
    if (mode === null)
      warnings.push(
        'stripe.mode is not set and STRIPE_SECRET_KEY is absent: Stripe events of both test and live mode are applied',
      );
    const account: StripeAccount = {
      id: legacy.STRIPE_ACCOUNT_ID ?? null,
      label: 'default',
      mode,
      webhookSecrets: list(legacy.STRIPE_WEBHOOK_SECRET),
      connect: false,
      connectWebhookSecrets: [],
      ...(legacy.STRIPE_SECRET_KEY !== undefined && { secretKey: legacy.STRIPE_SECRET_KEY }),
    };
    return [account];
  }
  if (legacy.STRIPE_ACCOUNT_ID !== undefined)
    problems.push('STRIPE_ACCOUNT_ID: not used when stripe.accounts lists the accounts (each entry has its id)');
  if (settings.mode !== null)
    problems.push('config stripe.mode: with stripe.accounts, set the mode of each account (stripe.accounts[].mode)');
  const referenced = new Set(
    settings.accounts.flatMap((a) => [a.secretKeyEnv, a.webhookSecretsEnv, a.connectWebhookSecretsEnv]),
  );
  for (const name of ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'] as const) {
    if (legacy[name] !== undefined && !referenced.has(name))
      problems.push(
        `${name}: set, but no entry of stripe.accounts names it; name it in one (e.g. secretKeyEnv: ${name}) or unset it`,
      );
  }
  const accounts: StripeAccount[] = [];
  const seen = { id: new Map<string, number>(), label: new Map<string, number>(), secret: new Map<string, string>() };
  settings.accounts.forEach((entry, i) => {
    const at = `config stripe.accounts.${i}`;
    if (seen.id.has(entry.id))
      problems.push(`${at}.id: ${entry.id} is listed twice (stripe.accounts.${seen.id.get(entry.id)})`);
    seen.id.set(entry.id, i);
    if (seen.label.has(entry.label))
      problems.push(`${at}.label: ${entry.label} is used twice (stripe.accounts.${seen.label.get(entry.label)})`);
    seen.label.set(entry.label, i);
    const read = (
      name: string | undefined,
      what: string,
      valid: (s: string) => boolean,
      expected: string,
    ): string[] => {
      if (name === undefined) return [];
      const values = list(env[name]);
      if (values.length === 0) problems.push(`${name}: required by stripe.accounts.${i} (${entry.label}): ${what}`);
      else if (!values.every(valid))
        problems.push(`${name}: expected ${expected} (stripe.accounts.${i}, ${entry.label})`);
      else return values;
      return [];
    };
    const [secretKey] = read(
      entry.secretKeyEnv,
      'its API key',
      isKey,
      `sk_test_…, sk_live_… or a restricted rk_… key, at least ${MIN_SECRET_CHARS} characters after the prefix`,
    );
    const whsec = `whsec_… secrets with at least ${MIN_SECRET_CHARS} characters after the prefix, several comma-separated`;
    const webhookSecrets = read(entry.webhookSecretsEnv, "its account endpoint's signing secrets", isWhsec, whsec);
    const connectWebhookSecrets = read(
      entry.connectWebhookSecretsEnv,
      "its Connect endpoint's signing secrets",
      isWhsec,
      whsec,
    );
    if (entry.connectWebhookSecretsEnv !== undefined && !entry.connect) {
      problems.push(`${at}.connectWebhookSecretsEnv: only a Connect platform (connect: true) has a Connect endpoint`);
    }
    for (const s of [...webhookSecrets, ...connectWebhookSecrets]) {
      const owner = seen.secret.get(s);
      // The secret that verifies a delivery says whose it is: one secret in two places would let either account's events pass as the other's.
      if (owner !== undefined)
        problems.push(
          `${at}: a webhook secret of ${entry.label} is also one of ${owner}: each endpoint has its own secret`,
        );
      seen.secret.set(s, entry.label);
    }
    const mode = modeOf(modeSetting(entry, true), entry.mode, secretKey, entry.secretKeyEnv ?? `${at}.mode`, problems);
    if (mode === null)
      warnings.push(
        `Stripe account ${entry.label}: no mode and no API key: its events of both test and live mode are applied`,
      );
    accounts.push({
      id: entry.id,
      label: entry.label,
      mode,
      webhookSecrets,
      connect: entry.connect,
      connectWebhookSecrets,
      ...(secretKey !== undefined && { secretKey }),
    });
  });
  return accounts;
}
