/**
 * Configuration, parsed once at start-up: secrets and endpoints from the
 * environment, mappings and limits from YAML (config/default.yaml, optionally
 * overridden by the file named in PORTAL_SYNC_CONFIG). Every problem is
 * collected and reported at once, by variable or key name, so an operator
 * fixes a broken deploy in one pass instead of one restart per typo.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { plainIssue, unknownKeyProblems } from './config-problems.js';
import {
  MIN_SECRET_CHARS,
  resolveStripeAccounts,
  STRIPE_ACCOUNT_ID,
  StripeSettingsSchema,
  type StripeAccount,
} from './config-stripe.js';
import { z } from 'zod';
import { PORTAL_ACTIVITY_TYPES, TICKET_CATEGORIES } from './sync/events/source-event.js';
import { PORTAL_TARGETS, type PortalTargetName } from './sync/target-names.js';
import { ViewSettingsSchema } from './sync/view/settings.js';
import { BrandsSchema, type BrandEntry } from './sync/events/brands.js';
import type { RedisConnectionSettings, SentinelAddress } from './sync/redis/connection.js';
import { OutboundSettingsSchema, resolveSubscriptionSecrets, SubscriptionsSchema } from './sync/outbound/settings.js';
import { MappingSchema } from './sync/mapping/schema.js';
import { mappingProblems } from './sync/mapping/defaults.js';

export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_CONFIG_FILE = resolve(PACKAGE_ROOT, 'config/default.yaml');

const optional = z
  .string()
  .transform((s) => s.trim())
  .optional()
  .transform((s) => (s === '' ? undefined : s));
const url = (what: string) =>
  z
    .string()
    .trim()
    .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), `expected an http(s) URL of ${what}`);
const secret = (minLength: number) =>
  optional.refine(
    (s) => s === undefined || s.length >= minLength,
    `expected a secret of at least ${minLength} characters`,
  );
/** Every comma-separated secret starts with `prefix` and has at least MIN_SECRET_CHARS after it. */
const prefixedSecrets = (prefix: RegExp, what: string) =>
  optional.refine(
    (s) =>
      s === undefined ||
      (list(s).length > 0 && list(s).every((x) => prefix.test(x) && x.replace(prefix, '').length >= MIN_SECRET_CHARS)),
    `expected ${what} with at least ${MIN_SECRET_CHARS} characters after the prefix (several comma-separated)`,
  );
/** Several secrets, comma-separated: one per webhook registration, or old and new while rotating. */
const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
const isOrigin = (s: string): boolean =>
  URL.canParse(s) && /^https?:$/.test(new URL(s).protocol) && new URL(s).origin === s.replace(/\/$/, '');
const port = z.coerce.number().int().min(0).max(65535);
/** host:port, with a port of 1–65535 (an IPv6 host in brackets: [::1]:26379). */
const isHostPort = (s: string): boolean => {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(s);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
};
const sentinelAddresses = (s: string | undefined): SentinelAddress[] =>
  list(s ?? '').map((a) => {
    const i = a.lastIndexOf(':');
    return { host: a.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(a.slice(i + 1)) };
  });

export type { PortalTargetName };

export const EnvSchema = z.object({
  REDIS_URL: z
    .string()
    .trim()
    .default('redis://127.0.0.1:6379')
    .refine(
      (s) => URL.canParse(s) && /^rediss?:$/.test(new URL(s).protocol),
      'expected redis://host:port or rediss://…',
    )
    .describe(
      'Redis for the BullMQ queues and the record store (with REDIS_SENTINELS only its credentials and database number are used)',
    ),
  REDIS_SENTINELS: optional
    .refine(
      (s) => s === undefined || (list(s).length > 0 && list(s).every(isHostPort)),
      'expected host:port of each sentinel, comma-separated, e.g. sentinel-1:26379,sentinel-2:26379',
    )
    .describe(
      'Redis Sentinel mode: the sentinels, host:port comma-separated; every connection asks them for the current primary',
    ),
  REDIS_SENTINEL_MASTER: optional
    .refine(
      (s) => s === undefined || /^[A-Za-z0-9_.-]+$/.test(s),
      "expected the master group name of the sentinels' configuration, e.g. mymaster",
    )
    .describe('the master group name the sentinels monitor (required with REDIS_SENTINELS)'),
  REDIS_SENTINEL_PASSWORD: optional.describe(
    "the sentinels' own password (requirepass of sentinel.conf), when they have one",
  ),
  REDIS_PASSWORD: optional.describe(
    'the Redis password (AUTH); overrides one in REDIS_URL, and is the way to give one with REDIS_SENTINELS',
  ),
  REDIS_TLS: z
    .enum(['true', 'false'])
    .optional()
    .describe('true: TLS to Redis and the sentinels (a rediss:// REDIS_URL turns it on as well)'),
  REDIS_PREFIX: z
    .string()
    .default('portal-sync')
    .refine((s) => /^[A-Za-z0-9_.{}-]+$/.test(s), "expected letters, digits, '-', '_', '.', '{}' (no ':')")
    .describe('key prefix of every key portal-sync writes (queues, dedupe set, quarantine, records)'),
  PORT: port.default(3000).describe('HTTP listener port'),
  HOST: z.string().default('0.0.0.0').describe('HTTP listener address'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level'),
  PORTAL_SYNC_CONFIG: optional.describe('a YAML file merged over config/default.yaml (unknown keys are errors)'),

  STRIPE_SECRET_KEY: optional
    .refine(
      (s) =>
        s === undefined ||
        (/^(sk|rk)_(test|live)_/.test(s) && s.replace(/^(sk|rk)_(test|live)_/, '').length >= MIN_SECRET_CHARS),
      `expected sk_test_…, sk_live_… or a restricted rk_… key, at least ${MIN_SECRET_CHARS} characters after the prefix`,
    )
    .describe('Stripe API key'),
  STRIPE_WEBHOOK_SECRET: prefixedSecrets(/^whsec_/, 'the endpoint signing secret, whsec_…').describe(
    "the Stripe endpoint's signing secret, several comma-separated (several endpoints, or old and new while rotating); enables POST /webhooks/stripe",
  ),
  STRIPE_ACCOUNT_ID: optional
    .refine(
      (s) => s === undefined || STRIPE_ACCOUNT_ID.test(s),
      'expected the Stripe account id, acct_… (Dashboard → Settings → Account details, or GET /v1/account)',
    )
    .describe(
      'the id (acct_…) of the one Stripe account of STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET: its customers are keyed stripe:<acct_…>:<cus_…>; unset, they keep the single-account key stripe:<cus_…> (docs/setup-stripe.md: upgrade with portal-sync migrate stripe-accounts)',
    ),
  STRIPE_API_HOST: optional.describe('Stripe API host override (proxy, sandbox, local stand-in)'),
  STRIPE_API_PORT: port.optional().describe('Stripe API port override'),
  STRIPE_API_PROTOCOL: z.enum(['http', 'https']).optional().describe('Stripe API protocol override'),

  ZENDESK_SUBDOMAIN: optional
    .refine(
      (s) => s === undefined || /^[a-z0-9][a-z0-9-]*$/i.test(s),
      'expected the subdomain only, e.g. acme for acme.zendesk.com',
    )
    .describe('Zendesk account subdomain (or set ZENDESK_BASE_URL, not both)'),
  ZENDESK_BASE_URL: url('the Zendesk API, e.g. https://acme.zendesk.com/api/v2')
    .optional()
    .describe('Zendesk API base URL, instead of ZENDESK_SUBDOMAIN (proxy, sandbox, local stand-in)'),
  ZENDESK_EMAIL: optional.describe('Zendesk API user (required when PORTAL_TARGET includes zendesk)'),
  ZENDESK_API_TOKEN: secret(MIN_SECRET_CHARS).describe(
    'Zendesk API token (required when PORTAL_TARGET includes zendesk)',
  ),
  ZENDESK_WEBHOOK_SECRET: optional
    .refine(
      (s) => s === undefined || (list(s).length > 0 && list(s).every((x) => x.length >= MIN_SECRET_CHARS)),
      `expected signing secrets of at least ${MIN_SECRET_CHARS} characters, comma-separated (one per Zendesk webhook)`,
    )
    .describe(
      "the Zendesk webhooks' signing secrets, comma-separated (one per webhook, or old and new while rotating); enables POST /webhooks/zendesk",
    ),

  SALESFORCE_LOGIN_URL: url('the Salesforce login host')
    .default('https://login.salesforce.com')
    .describe('Salesforce OAuth login host'),
  SALESFORCE_INSTANCE_URL: url('your My Domain, e.g. https://acme.my.salesforce.com')
    .optional()
    .describe('your Salesforce My Domain (required with SALESFORCE_ACCESS_TOKEN)'),
  SALESFORCE_CLIENT_ID: optional.describe(
    'connected app client id (OAuth client credentials; required when PORTAL_TARGET includes salesforce, unless SALESFORCE_ACCESS_TOKEN is set)',
  ),
  SALESFORCE_CLIENT_SECRET: secret(MIN_SECRET_CHARS).describe('connected app client secret (see SALESFORCE_CLIENT_ID)'),
  SALESFORCE_ACCESS_TOKEN: secret(MIN_SECRET_CHARS).describe(
    'a ready-made Salesforce access token, instead of the client credentials',
  ),
  SALESFORCE_ORG_ID: optional
    .refine(
      (s) => s === undefined || /^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$/.test(s),
      'expected a 15- or 18-character organization id starting with 00D',
    )
    .describe('the org id every Outbound Message must carry; with SALESFORCE_OUTBOUND_TOKEN enables Outbound Messages'),
  SALESFORCE_OUTBOUND_TOKEN: secret(MIN_SECRET_CHARS).describe(
    'the token in the Outbound Message endpoint URL (?token=…); exactly one value is accepted',
  ),
  SALESFORCE_WEBHOOK_SECRET: secret(MIN_SECRET_CHARS).describe(
    'HMAC secret of the signed JSON events; enables them on POST /webhooks/salesforce',
  ),

  PORTAL_EVENTS_SECRET: secret(MIN_SECRET_CHARS).describe(
    'HMAC secret of portal activity events; enables POST /events/portal',
  ),
  ZENDESK_HELP_CENTER_JWKS_URL: url(
    'the help center JSON Web Keys, e.g. https://acme.zendesk.com/api/v2/help_center/integration/keys.json',
  )
    .optional()
    .describe(
      'where the help center JWT keys are read (default: derived from ZENDESK_SUBDOMAIN or ZENDESK_BASE_URL); with either, enables GET /portal/v1/me and browser portal events',
    ),
  ZENDESK_HELP_CENTER_JWT_ISSUER: optional.describe(
    "when set, a help center JWT must carry exactly this `iss` (unset: the account's own keys are the only check)",
  ),
  PORTAL_ORIGINS: optional
    .refine(
      (s) => s === undefined || list(s).every(isOrigin),
      'expected origins like https://help.acme.com, comma-separated (scheme and host, no path)',
    )
    .describe(
      'Help Center origins allowed to call GET /portal/v1/me and POST /events/portal from the browser (CORS), comma-separated',
    ),
  ADMIN_TOKEN: secret(MIN_SECRET_CHARS).describe(
    'bearer token of the admin area (/admin); unset means the area is off',
  ),
  METRICS_TOKEN: secret(MIN_SECRET_CHARS).describe(
    'bearer token GET /metrics requires (Authorization: Bearer …); unset means /metrics is open to whoever reaches the port',
  ),
  PORTAL_TARGET: optional
    .refine(
      (s) => s === undefined || s.split(',').every((t) => (PORTAL_TARGETS as readonly string[]).includes(t.trim())),
      `expected ${PORTAL_TARGETS.join(', ')} or both, comma-separated`,
    )
    .describe('where to push: zendesk, salesforce, or both comma-separated (unset: nothing is pushed)'),
});

const names = <K extends string>(keys: readonly K[]) =>
  z.strictObject(Object.fromEntries(keys.map((k) => [k, z.string().min(1)])) as Record<K, z.ZodString>);
const apiName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected an API name like Portal_Invoice__c');
const rate = z.strictObject({ max: z.number().int().min(1), perMs: z.number().int().min(100) });

const TargetsSchema = z.strictObject({
  zendesk: z.strictObject({
    rate,
    concurrency: z.number().int().min(1).max(64),
    fields: names(['status', 'plan', 'mrr', 'balance', 'nextInvoiceDate', 'delinquent', 'openInvoices']),
    invoiceObject: z.strictObject({
      key: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a custom object key like portal_invoice'),
      fields: names([
        'number',
        'status',
        'total',
        'amountDue',
        'amountPaid',
        'currency',
        'dueDate',
        'hostedUrl',
        'pdfUrl',
        'organization',
        'user',
      ]),
    }),
    statusObject: z.strictObject({
      enabled: z.boolean(),
      key: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a custom object key like portal_account_status'),
      fields: names(['organization', 'user']),
    }),
    profileEventSource: z.string().min(1),
  }),
  salesforce: z.strictObject({
    rate,
    concurrency: z.number().int().min(1).max(64),
    accountFields: names(['status', 'plan', 'mrr', 'balance', 'nextInvoiceDate', 'delinquent', 'openTickets']),
    invoice: z.strictObject({
      object: apiName,
      externalId: apiName,
      fields: names([
        'account',
        'number',
        'status',
        'total',
        'amountDue',
        'amountPaid',
        'currency',
        'dueDate',
        'hostedUrl',
        'pdfUrl',
      ]),
    }),
    ticket: z.strictObject({
      object: apiName,
      externalId: apiName,
      fields: names(['account', 'subject', 'status', 'priority', 'category', 'updatedAt']),
    }),
    deflection: z.strictObject({ object: apiName, externalId: apiName }),
    apiBudget: z.strictObject({
      maxUsage: z.number().gt(0).max(1),
      pauseMs: z
        .number()
        .int()
        .min(1_000)
        .max(24 * 3_600_000),
    }),
  }),
});
export type TargetsConfig = z.infer<typeof TargetsSchema>;

const category = z.enum(TICKET_CATEGORIES);
const HOUR_MS = 3_600_000;

const DeflectionSchema = z.strictObject({
  sessionIdleMs: z
    .number()
    .int()
    .min(1_000)
    .max(24 * HOUR_MS),
  windowMs: z
    .number()
    .int()
    .min(1_000)
    .max(90 * 24 * HOUR_MS),
  lateTicketGraceMs: z
    .number()
    .int()
    .min(0)
    .max(24 * HOUR_MS),
  sweepEveryMs: z
    .number()
    .int()
    .min(1_000)
    .max(24 * HOUR_MS),
  historyDays: z.number().int().min(1).max(3_650),
  activityCategories: z.partialRecord(z.enum(PORTAL_ACTIVITY_TYPES), category),
});

const TicketCategoriesSchema = z.strictObject({
  default: category,
  rules: z.array(
    z
      .strictObject({
        category,
        formIds: z.array(z.coerce.string().min(1)).optional(),
        tags: z.array(z.string().min(1)).optional(),
        keywords: z.array(z.string().trim().min(1)).optional(),
      })
      .refine(
        (r) => (r.formIds?.length ?? 0) + (r.tags?.length ?? 0) + (r.keywords?.length ?? 0) > 0,
        'a rule needs formIds, tags or keywords',
      ),
  ),
});

/** Express's `trust proxy`: whose X-Forwarded-For/-Proto to believe. */
const TrustProxySchema = z.union([
  z.literal('none'),
  z.number().int().min(1).max(16),
  z
    .array(
      z
        .string()
        .trim()
        .refine(
          (s) => isTrustedProxyEntry(s),
          'expected an IP address, a CIDR like 10.0.0.0/8, or loopback, linklocal, uniquelocal',
        ),
    )
    .min(1),
]);

function isTrustedProxyEntry(s: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(s)) return true;
  const [ip, bits, ...rest] = s.split('/');
  if (rest.length > 0 || !ip || isIP(ip) === 0) return false;
  if (bits === undefined) return true;
  const max = isIP(ip) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

const skewSeconds = z.number().int().min(0).max(86_400);

export const FileSchema = z.strictObject({
  server: z
    .strictObject({
      bodyLimitBytes: z
        .number()
        .int()
        .min(1024)
        .max(50 * 1024 * 1024),
      shutdownGraceMs: z.number().int().min(0).max(600_000),
      enqueueTimeoutMs: z.number().int().min(50).max(60_000),
      trustProxy: TrustProxySchema,
      requestTimeoutMs: z.number().int().min(100).max(300_000),
      headersTimeoutMs: z.number().int().min(100).max(300_000),
      keepAliveTimeoutMs: z.number().int().min(100).max(600_000),
      maxConnections: z.number().int().min(1).max(1_000_000),
    })
    .refine((s) => s.headersTimeoutMs <= s.requestTimeoutMs, {
      message: 'headersTimeoutMs must be at most requestTimeoutMs',
      path: ['headersTimeoutMs'],
    }),
  admin: z.strictObject({
    boardWrites: z.boolean(),
    failedAuthPerIpPerMinute: z.number().int().min(1).max(10_000),
    failedAuthPerMinute: z.number().int().min(1).max(100_000),
    sessionTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600),
  }),
  webhooks: z.strictObject({
    stripeToleranceSeconds: z.number().int().min(1),
    zendeskToleranceSeconds: z.number().int().min(1),
    hmacToleranceSeconds: z.number().int().min(1),
    dedupeTtlSeconds: z.number().int().min(3600),
    maxFutureSkewSeconds: z.strictObject({
      stripe: skewSeconds,
      salesforce: skewSeconds,
      zendesk: skewSeconds,
      portal: skewSeconds,
    }),
    oldestEventTime: z.iso.datetime({ offset: true }),
    maxObjectsPerRequest: z.number().int().min(1).max(10_000),
  }),
  quarantine: z.strictObject({ maxEntries: z.number().int().min(1), maxBytes: z.number().int().min(1_048_576) }),
  identity: z.strictObject({
    stripeMetadataKeys: z.strictObject({
      salesforceAccountId: z.string().min(1),
      zendeskOrganizationId: z.string().min(1),
    }),
    zendeskOrganizationExternalIdIs: z.enum(['salesforceAccountId', 'none']),
    forgetTombstoneDays: z.number().int().min(1).max(3_650),
  }),
  worker: z.strictObject({ concurrency: z.number().int().min(1).max(256) }),
  redis: z.strictObject({
    ackReplicas: z.number().int().min(0).max(16),
    ackTimeoutMs: z.number().int().min(10).max(60_000),
  }),
  push: z
    .strictObject({
      debounceMs: z.number().int().min(0).max(600_000),
      backoffMs: z.number().int().min(10).max(600_000),
      maxBackoffMs: z.number().int().min(10).max(3_600_000),
      setupCheckEveryMs: z.number().int().min(0).max(86_400_000),
    })
    .refine((p) => p.maxBackoffMs >= p.backoffMs, {
      message: 'maxBackoffMs must be at least backoffMs',
      path: ['maxBackoffMs'],
    }),
  resync: z.strictObject({
    maxBacklog: z.number().int().min(100).max(1_000_000),
    stripeReadsPerSecond: z.number().int().min(1).max(1000),
    zendeskExportsPerMinute: z.number().int().min(1).max(6000),
    zendeskPageSize: z.number().int().min(100).max(1000),
    salesforcePageSize: z.number().int().min(200).max(2000),
  }),
  stripe: StripeSettingsSchema,
  reconcile: z.strictObject({
    everyMs: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600_000),
    // Zendesk's exports leave out the last minute before each request: less overlap would skip changes.
    overlapMs: z
      .number()
      .int()
      .min(120_000)
      .max(24 * 3600_000),
    firstLookbackMs: z
      .number()
      .int()
      .min(60_000)
      .max(30 * 24 * 3600_000),
  }),
  targets: TargetsSchema,
  mapping: MappingSchema,
  deflection: DeflectionSchema,
  ticketCategories: TicketCategoriesSchema,
  outbound: OutboundSettingsSchema,
  subscriptions: SubscriptionsSchema,
  view: ViewSettingsSchema,
  zendesk: z.strictObject({ brands: BrandsSchema }),
  salesforce: z.strictObject({
    apiVersion: z.string().regex(/^\d{2}\.0$/, 'expected an API version like "62.0"'),
    clientId: z.string().min(1),
  }),
});
type FileConfig = z.infer<typeof FileSchema>;

export interface Config extends Omit<FileConfig, 'stripe' | 'redis' | 'zendesk'> {
  /** Where and how to connect (env), the key prefix, and how many replicas must hold an event before it is acknowledged (YAML). */
  redis: RedisConnectionSettings & { prefix: string } & FileConfig['redis'];
  http: { port: number; host: string };
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /**
   * Every Stripe account (`accounts`, src/config-stripe.ts) and where the Stripe API is. `mode`, `secretKey` and
   * `webhookSecrets` are those of the FIRST account (the only one of a single-account deployment).
   */
  stripe: {
    accounts: StripeAccount[];
    /** Whether the accounts come from YAML's stripe.accounts (messages then name an account's mode by its label). */
    accountsListed: boolean;
    mode?: 'test' | 'live' | null;
    secretKey?: string;
    webhookSecrets: string[];
    host?: string;
    port?: number;
    protocol?: 'http' | 'https';
  };
  /** `brands`: the brands this deployment serves (YAML zendesk.brands); empty or absent: every brand. */
  zendesk: { baseUrl?: string; email?: string; apiToken?: string; webhookSecrets: string[]; brands?: BrandEntry[] };
  salesforceAuth: {
    loginUrl: string;
    instanceUrl?: string;
    clientId?: string;
    clientSecret?: string;
    accessToken?: string;
    orgId?: string;
    outboundToken?: string;
    webhookSecret?: string;
  };
  portal: { eventsSecret?: string; targets: PortalTargetName[] };
  /** Help center JWTs (GET /portal/v1/me, browser portal events): on when a key URL is known. */
  helpCenter: { jwksUrl?: string; issuer?: string; origins: string[] };
  adminToken?: string;
  metricsToken?: string;
  /** Outbound webhook secrets by subscription id, read from the variables the subscriptions name. */
  outboundSecrets: Record<string, string[]>;
  configFiles: string[];
}

export type ConfigResult =
  { ok: true; config: Config; warnings: string[] } | { ok: false; problems: string[]; warnings: string[] };

/** Deep merge of plain objects; arrays and scalars from `over` replace. */
function merge(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
    return out;
  }
  return over === undefined ? base : over;
}
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readYaml(file: string, problems: string[]): unknown {
  if (!existsSync(file)) {
    problems.push(`${file}: file not found`);
    return {};
  }
  try {
    return parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    problems.push(`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
    return {};
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, defaultFile = DEFAULT_CONFIG_FILE): ConfigResult {
  const problems: string[] = [];
  const warnings: string[] = [];

  const envResult = EnvSchema.safeParse(env);
  if (!envResult.success) {
    for (const issue of envResult.error.issues) problems.push(plainIssue(issue, env));
  }

  const configFiles = [defaultFile];
  const defaults = readYaml(defaultFile, problems);
  let raw = defaults;
  const overrideFile = env.PORTAL_SYNC_CONFIG?.trim();
  if (overrideFile) {
    configFiles.push(resolve(overrideFile));
    raw = merge(raw, readYaml(resolve(overrideFile), problems));
  }
  const fileResult = FileSchema.safeParse(raw);
  if (!fileResult.success) {
    for (const issue of fileResult.error.issues) {
      if (issue.code === 'unrecognized_keys')
        problems.push(...unknownKeyProblems(issue, defaults, overrideFile ? resolve(overrideFile) : undefined));
      else problems.push(`config ${plainIssue(issue, raw)}`);
    }
  }

  // The rules between settings are judged even when some values do not parse, so that one run names every problem:
  // from the parsed env, or else from the raw one (presence is all they need of a value that failed).
  const e = envResult.success ? envResult.data : rawEnv(env);
  const targets = e.PORTAL_TARGET
    ? [...new Set(e.PORTAL_TARGET.split(',').map((t) => t.trim() as PortalTargetName))]
    : [];
  const zendeskBaseUrl =
    e.ZENDESK_BASE_URL ?? (e.ZENDESK_SUBDOMAIN ? `https://${e.ZENDESK_SUBDOMAIN}.zendesk.com/api/v2` : undefined);

  const stripeAccountsListed = fileResult.success && fileResult.data.stripe.accounts.length > 0;
  checkCompleteness(e, targets, zendeskBaseUrl, problems, warnings, stripeAccountsListed);
  if (fileResult.success) checkRedisAck(fileResult.data, problems);
  const stripeAccounts = fileResult.success
    ? resolveStripeAccounts(fileResult.data.stripe, e, env, problems, warnings)
    : [];
  const targetsOnly = TargetsSchema.safeParse((raw as { targets?: unknown } | null)?.targets);
  if (targetsOnly.success)
    problems.push(...mappingProblems((raw as { mapping?: unknown } | null)?.mapping, targetsOnly.data));
  if (!envResult.success || !fileResult.success) return { ok: false, problems, warnings };
  const outboundSecrets = resolveSubscriptionSecrets(fileResult.data.subscriptions, env, problems);
  const first = stripeAccounts[0];
  if (problems.length > 0) return { ok: false, problems, warnings };

  const config: Config = {
    ...fileResult.data,
    redis: {
      ...fileResult.data.redis,
      url: e.REDIS_URL,
      prefix: e.REDIS_PREFIX,
      ...defined({
        sentinels: e.REDIS_SENTINELS ? sentinelAddresses(e.REDIS_SENTINELS) : undefined,
        sentinelMaster: e.REDIS_SENTINEL_MASTER,
        sentinelPassword: e.REDIS_SENTINEL_PASSWORD,
        password: e.REDIS_PASSWORD,
        tls: e.REDIS_TLS === undefined ? undefined : e.REDIS_TLS === 'true',
      }),
    },
    http: { port: e.PORT, host: e.HOST },
    logLevel: e.LOG_LEVEL,
    stripe: defined({
      accounts: stripeAccounts,
      accountsListed: fileResult.data.stripe.accounts.length > 0,
      mode: first?.mode ?? null,
      secretKey: first?.secretKey,
      webhookSecrets: first?.webhookSecrets ?? [],
      host: e.STRIPE_API_HOST,
      port: e.STRIPE_API_PORT,
      protocol: e.STRIPE_API_PROTOCOL,
    }),
    zendesk: defined({
      baseUrl: zendeskBaseUrl,
      email: e.ZENDESK_EMAIL,
      apiToken: e.ZENDESK_API_TOKEN,
      webhookSecrets: list(e.ZENDESK_WEBHOOK_SECRET ?? ''),
      brands: fileResult.data.zendesk.brands,
    }),
    salesforceAuth: defined({
      loginUrl: e.SALESFORCE_LOGIN_URL,
      instanceUrl: e.SALESFORCE_INSTANCE_URL,
      clientId: e.SALESFORCE_CLIENT_ID,
      clientSecret: e.SALESFORCE_CLIENT_SECRET,
      accessToken: e.SALESFORCE_ACCESS_TOKEN,
      orgId: e.SALESFORCE_ORG_ID,
      outboundToken: e.SALESFORCE_OUTBOUND_TOKEN,
      webhookSecret: e.SALESFORCE_WEBHOOK_SECRET,
    }),
    portal: defined({ eventsSecret: e.PORTAL_EVENTS_SECRET, targets }),
    helpCenter: defined({
      jwksUrl: e.ZENDESK_HELP_CENTER_JWKS_URL ?? (zendeskBaseUrl ? helpCenterKeysUrl(zendeskBaseUrl) : undefined),
      issuer: e.ZENDESK_HELP_CENTER_JWT_ISSUER,
      origins: list(e.PORTAL_ORIGINS ?? '').map((o) => new URL(o).origin),
    }),
    ...defined({ adminToken: e.ADMIN_TOKEN, metricsToken: e.METRICS_TOKEN }),
    configFiles,
    outboundSecrets,
  };
  return { ok: true, config, warnings };
}

type Env = z.infer<typeof EnvSchema>;

/** Salesforce rejects the client credentials flow on the generic login hosts; it wants the org's My Domain. */
export const SALESFORCE_GENERIC_LOGIN = /^https:\/\/(login|test)\.salesforce\.com\/?$/i;
export const SALESFORCE_GENERIC_LOGIN_PROBLEM =
  'SALESFORCE_LOGIN_URL: the client credentials flow does not work on login.salesforce.com or test.salesforce.com; ' +
  'set it (or SALESFORCE_INSTANCE_URL) to your My Domain, e.g. https://acme.my.salesforce.com';

/** The environment as given, for the rules between settings when some value failed to parse (empty means unset). */
function rawEnv(env: NodeJS.ProcessEnv): Env {
  return Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''),
  ) as unknown as Env;
}

/**
 * Zendesk's "List Public Keys" of help center JWTs: `GET /api/v2/help_center/integration/keys`
 * (developer.zendesk.com, Help Center JWTs reference; `.json` as in its curl sample), under the account's API root.
 */
function helpCenterKeysUrl(zendeskBaseUrl: string): string {
  return `${zendeskBaseUrl.replace(/\/+$/, '')}/help_center/integration/keys.json`;
}

/** Settings that only make sense together: a half-configured source is an error, an absent one a warning. */
function checkCompleteness(
  e: Env,
  targets: PortalTargetName[],
  zendeskBaseUrl: string | undefined,
  problems: string[],
  warnings: string[],
  stripeAccountsListed: boolean,
): void {
  const need = (names: Array<keyof Env>, why: string) => {
    for (const name of names) if (e[name] === undefined) problems.push(`${name}: required ${why}`);
  };
  if (e.REDIS_SENTINELS)
    need(['REDIS_SENTINEL_MASTER'], 'with REDIS_SENTINELS: the master group name the sentinels monitor');
  if (e.REDIS_SENTINEL_MASTER && !e.REDIS_SENTINELS)
    need(['REDIS_SENTINELS'], 'with REDIS_SENTINEL_MASTER: the sentinels to ask for it, host:port comma-separated');
  if (e.REDIS_SENTINEL_PASSWORD && !e.REDIS_SENTINELS)
    problems.push('REDIS_SENTINEL_PASSWORD: only used with REDIS_SENTINELS, which is not set');
  if (e.ZENDESK_SUBDOMAIN && e.ZENDESK_BASE_URL)
    problems.push('ZENDESK_SUBDOMAIN: set either ZENDESK_SUBDOMAIN or ZENDESK_BASE_URL, not both');
  if (e.SALESFORCE_ORG_ID && !e.SALESFORCE_OUTBOUND_TOKEN)
    need(
      ['SALESFORCE_OUTBOUND_TOKEN'],
      'with SALESFORCE_ORG_ID: Outbound Messages carry no signature, so the endpoint URL carries this token',
    );
  if (e.SALESFORCE_OUTBOUND_TOKEN && !e.SALESFORCE_ORG_ID)
    need(['SALESFORCE_ORG_ID'], 'with SALESFORCE_OUTBOUND_TOKEN: every Outbound Message is checked against it');
  if (targets.includes('zendesk')) {
    if (!zendeskBaseUrl)
      problems.push('ZENDESK_SUBDOMAIN: required when PORTAL_TARGET includes zendesk (or set ZENDESK_BASE_URL)');
    need(['ZENDESK_EMAIL', 'ZENDESK_API_TOKEN'], 'when PORTAL_TARGET includes zendesk');
  }
  if (targets.includes('salesforce') && !e.SALESFORCE_ACCESS_TOKEN) {
    need(
      ['SALESFORCE_CLIENT_ID', 'SALESFORCE_CLIENT_SECRET'],
      'when PORTAL_TARGET includes salesforce (OAuth client credentials), unless SALESFORCE_ACCESS_TOKEN is set',
    );
  }
  if (e.SALESFORCE_ACCESS_TOKEN && !e.SALESFORCE_INSTANCE_URL)
    need(['SALESFORCE_INSTANCE_URL'], 'with SALESFORCE_ACCESS_TOKEN');
  // What the connection would refuse at the first call (src/connectors/salesforce/client.ts), said now.
  if (
    e.SALESFORCE_CLIENT_ID &&
    e.SALESFORCE_CLIENT_SECRET &&
    !e.SALESFORCE_ACCESS_TOKEN &&
    !e.SALESFORCE_INSTANCE_URL &&
    SALESFORCE_GENERIC_LOGIN.test(e.SALESFORCE_LOGIN_URL ?? 'https://login.salesforce.com')
  ) {
    problems.push(SALESFORCE_GENERIC_LOGIN_PROBLEM);
  }
  if (!e.STRIPE_WEBHOOK_SECRET && !stripeAccountsListed)
    warnings.push('STRIPE_WEBHOOK_SECRET is not set: POST /webhooks/stripe is disabled');
  if (!e.ZENDESK_WEBHOOK_SECRET) warnings.push('ZENDESK_WEBHOOK_SECRET is not set: POST /webhooks/zendesk is disabled');
  if (!e.SALESFORCE_ORG_ID && !e.SALESFORCE_WEBHOOK_SECRET) {
    warnings.push('SALESFORCE_ORG_ID and SALESFORCE_WEBHOOK_SECRET are not set: POST /webhooks/salesforce is disabled');
  }
  const helpCenter = Boolean(e.ZENDESK_HELP_CENTER_JWKS_URL ?? zendeskBaseUrl);
  if (!e.PORTAL_EVENTS_SECRET && !helpCenter)
    warnings.push('PORTAL_EVENTS_SECRET is not set and no help center keys are known: POST /events/portal is disabled');
  if (!helpCenter)
    warnings.push(
      'no help center keys are known (ZENDESK_SUBDOMAIN, ZENDESK_BASE_URL or ZENDESK_HELP_CENTER_JWKS_URL): GET /portal/v1/me is disabled',
    );
  if (helpCenter && !e.PORTAL_ORIGINS)
    warnings.push(
      'PORTAL_ORIGINS is not set: browsers on your Help Center cannot call GET /portal/v1/me (no CORS origin is allowed)',
    );
  if (targets.length === 0)
    warnings.push('PORTAL_TARGET is not set: records are kept but nothing is pushed to a portal');
}

/** A WAIT that outlasts the enqueue deadline would turn every slow replica into a timeout without the 503 it owes. */
function checkRedisAck(file: FileConfig, problems: string[]): void {
  if (file.redis.ackReplicas > 0 && file.redis.ackTimeoutMs >= file.server.enqueueTimeoutMs) {
    problems.push(
      `config redis.ackTimeoutMs: must be below server.enqueueTimeoutMs (${file.server.enqueueTimeoutMs} ms), got ${file.redis.ackTimeoutMs}: the wait for replicas is part of the enqueue`,
    );
  }
}

/** Drops undefined values so optional properties stay absent (exactOptionalPropertyTypes-friendly). */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
