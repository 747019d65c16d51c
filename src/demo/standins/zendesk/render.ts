/** The Zendesk stand-in's answers: Zendesk's error bodies (the 429 text, RecordInvalid details, default failure bodies), JSON sending, cursors and the small value helpers the routes share. */
import { STATUS_CODES } from 'node:http';
import { type Response } from 'express';
import { type RateWindow } from '../common.js';
import {
  type ZendeskEchoEvent,
  type ZendeskFieldDefinition,
  type ZendeskJobStatus,
  type ZendeskOrganization,
  type ZendeskProfile,
  type ZendeskProfileEvent,
  type ZendeskUser,
} from './types.js';

// ---------------------------------------------------------------------------------------------
// Zendesk's error bodies
// ---------------------------------------------------------------------------------------------

/** The 429 body is plain text (Content-Type text/plain), so node-zendesk reads it as `{}`. */
export const ZENDESK_TOO_MANY_REQUESTS = 'Number of allowed API requests per minute exceeded';

export type Details = Record<string, { description: string; error: string }[]>;

export const zendeskErrors = {
  unauthenticated: () => ({ error: "Couldn't authenticate you" }),
  notFound: () => ({ error: 'RecordNotFound', description: 'Not found' }),
  invalidEndpoint: () => ({ error: 'InvalidEndpoint', description: 'Not found' }),
  recordInvalid: (details: Details) => ({ error: 'RecordInvalid', description: 'Record validation errors', details }),
  invalidValue: (description: string) => ({ error: 'InvalidValue', description }),
  forbidden: () => ({
    error: 'Forbidden',
    description:
      'You do not have access to this page. Please contact the account owner of this help desk for further help.',
  }),
  /** Newer APIs (custom objects, profiles) answer a JSON:API-style `errors` list. */
  errorsList: (status: number, code: string, detail: string) => ({
    errors: [{ code, status: String(status), title: STATUS_CODES[status] ?? 'Error', detail }],
  }),
};

/** What failNext answers when no body is given. */
export function defaultFailureBody(status: number): unknown {
  switch (status) {
    case 401:
      return zendeskErrors.unauthenticated();
    case 403:
      return zendeskErrors.forbidden();
    case 404:
      return zendeskErrors.notFound();
    case 422:
      return zendeskErrors.recordInvalid({
        base: [{ description: 'Record validation errors', error: 'InvalidValue' }],
      });
    case 429:
      return ZENDESK_TOO_MANY_REQUESTS;
    default:
      return {
        error: (STATUS_CODES[status] ?? 'Error').replace(/\s+/g, ''),
        description: STATUS_CODES[status] ?? 'Error',
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

export const DEFAULT_CREDENTIALS = {
  email: 'portal-sync@standin.example',
  token: 'FAKE_zendesk_standin_token_not_real',
};
export const UNENFORCED_RATE: RateWindow = { max: 700, perMs: 60_000 };
export const BULK_LIMIT = 100;
/** What an end user's help center session may call (GET, under /api/v2): custom object records, read under the end-user policy. */
export const END_USER_PATHS = [/^\/api\/v2\/custom_objects\/[^/]+\/records(\/[^/]+)?$/];
export const EXPORT_PAGE = 1000;
export const FIELD_TYPES = new Set([
  'text',
  'textarea',
  'checkbox',
  'date',
  'integer',
  'decimal',
  'regexp',
  'dropdown',
  'tagger',
  'multiselect',
  'lookup',
]);
export const ECHO_EVENTS: ZendeskEchoEvent[] = [
  'organization.created',
  'organization.custom_field_changed',
  'organization.name_changed',
  'organization.external_id_changed',
  'organization.tags_changed',
  'user.created',
  'user.custom_field_changed',
  'user.name_changed',
  'user.external_id_changed',
  'user.tags_changed',
  'user.role_changed',
];

export type Json = Record<string, unknown>;
export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Zendesk timestamps: ISO-8601 to the second. */
export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const unixOf = (timestamp: string): number => Math.floor(Date.parse(timestamp) / 1000);
/** Field values are JSON; an absent value and null mean the same thing. */
export const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
export const lower = (s: string | null | undefined): string | undefined =>
  typeof s === 'string' ? s.toLowerCase() : undefined;
export const positiveInt = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};
export const csv = (v: string | null): string[] =>
  v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
export const encodeCursor = (parts: (string | number)[]): string => Buffer.from(parts.join('|')).toString('base64url');
export const decodeCursor = (cursor: string): string[] | undefined => {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  return parts.length >= 2 ? parts : undefined;
};
export const blank = (field: string, label: string): Details => ({
  [field]: [{ description: `${label}: cannot be blank`, error: 'BlankValue' }],
});
export const taken = (field: string, label: string): Details => ({
  [field]: [{ description: `${label}: has already been taken`, error: 'DuplicateValue' }],
});

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}
export const invalid = (details: Details) => new HttpError(422, zendeskErrors.recordInvalid(details));

export function send(res: Response, status: number, body: unknown): void {
  if (body === undefined || status === 204) {
    res.status(status).end();
  } else if (typeof body === 'string') {
    res.status(status).type('text/plain').send(body);
  } else {
    res.status(status).json(body);
  }
}

/** Pages by (timestamp, id) position; `after` is exclusive. */
export function byPosition<T extends { id: number }>(items: Iterable<T>, ts: (t: T) => number) {
  return [...items].map((item) => ({ item, ts: ts(item) })).sort((a, b) => a.ts - b.ts || a.item.id - b.item.id);
}

// ---------------------------------------------------------------------------------------------
// Object shapes: the details echoed in webhooks, profiles and events as the API shows them, list and job envelopes
// ---------------------------------------------------------------------------------------------

export const organizationDetail = (o: ZendeskOrganization): Json => ({
  created_at: o.created_at,
  external_id: o.external_id,
  group_id: o.group_id === null ? null : String(o.group_id),
  id: String(o.id),
  name: o.name,
  shared_comments: o.shared_comments,
  shared_tickets: o.shared_tickets,
  updated_at: o.updated_at,
});

export const userDetail = (u: ZendeskUser): Json => ({
  created_at: u.created_at,
  email: u.email,
  external_id: u.external_id,
  default_group_id: String(u.default_group_id ?? 0),
  id: String(u.id),
  organization_id: String(u.organization_id ?? 0),
  role: u.role,
  updated_at: u.updated_at,
});

export const customField = (defs: ZendeskFieldDefinition[], key: string) => {
  const def = defs.find((d) => d.key === key);
  return { id: def ? String(def.id) : null, title: def?.title ?? key, field_type: def?.type ?? 'text' };
};

export const tagChange = (before: string[], after: string[]) => ({
  tags_added: after.filter((t) => !before.includes(t)),
  tags_removed: before.filter((t) => !after.includes(t)),
});

export const presentProfile = (p: ZendeskProfile) => ({ ...p, user_id: String(p.user_id) });

export const presentEvent = (e: ZendeskProfileEvent) => ({
  id: e.id,
  user_id: String(e.user_id),
  source: e.event.source,
  type: e.event.type,
  description: e.event.description ?? '',
  properties: e.event.properties,
  created_at: e.event.created_at,
  received_at: e.received_at,
});

export const jobOf = (queued: ZendeskJobStatus) => ({ job_status: queued });

export const listOf = <T>(key: string, items: T[]) => ({
  [key]: items,
  next_page: null,
  previous_page: null,
  count: items.length,
});
