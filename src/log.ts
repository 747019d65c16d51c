/**
 * JSON logs with pino. Secrets, tokens and signatures are censored wherever
 * they appear under a known key; customer emails are masked (the domain stays,
 * which is what an operator needs to tell tenants apart).
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

const SECRET_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'stripe-signature',
  'x-zendesk-webhook-signature',
  'x-portal-sync-signature',
  'signature',
  'token',
  'accessToken',
  'access_token',
  'apiToken',
  'secret',
  'secretKey',
  'webhookSecret',
  'webhookSecrets',
  'password',
  'clientSecret',
];
const EMAIL_KEYS = ['email', 'primaryEmail', 'requesterEmail', 'customerEmail'];

/** `jane.doe@example.com` → `j***@example.com`. Not reversible, still useful for tenant triage. */
function maskEmail(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const at = value.lastIndexOf('@');
  if (at < 1) return '[redacted]';
  return `${value[0]}***${value.slice(at)}`;
}

const EMAIL_IN_TEXT = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

/**
 * Emails inside free text are masked too: a platform's error message quotes the value it refused
 * ("Email: jane@example.com is not properly formatted"), and such messages are logged as `reason`.
 * Plain objects and arrays are walked a few levels down; anything else is left to pino.
 */
function maskEmailsIn(value: unknown, depth = 0): unknown {
  if (typeof value === 'string')
    return value.includes('@') ? value.replace(EMAIL_IN_TEXT, (m) => String(maskEmail(m))) : value;
  if (depth >= 3 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskEmailsIn(v, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskEmailsIn(v, depth + 1)]));
}

function redactPaths(keys: string[]): string[] {
  // pino's redaction matches exact paths; cover the key at the top, one and two levels down, and in request headers.
  return keys.flatMap((k) => {
    const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
    const dot = key.startsWith('[') ? '' : '.';
    return [key, `*${dot}${key}`, `*.*${dot}${key}`, `req.headers${dot}${key}`, `res.headers${dot}${key}`];
  });
}

export function createLogger(level: LoggerOptions['level'] = 'info', destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'portal-sync' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (object) => maskEmailsIn(object) as Record<string, unknown>,
    },
    redact: {
      paths: [...redactPaths(SECRET_KEYS), ...redactPaths(EMAIL_KEYS)],
      censor: (value, path) => (EMAIL_KEYS.includes(path[path.length - 1] ?? '') ? maskEmail(value) : '[redacted]'),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
