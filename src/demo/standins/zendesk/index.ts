/**
 * A local stand-in for the Zendesk Support REST API (`https://{sub}.zendesk.com/api/v2`),
 * for end-to-end tests, `portal-sync demo` and benchmarks. Point node-zendesk at it with
 * `createClient({ username, token, endpointUri: standIn.baseUrl })` (or ZENDESK_BASE_URL).
 *
 * What it keeps faithful, because the daemon's behaviour depends on it:
 * - paths with and without node-zendesk's `.json` suffix; `email/token:apitoken` basic auth;
 * - response envelopes (`{organization}`, `{job_status}`, `{custom_object_record}`…) and
 *   Zendesk's error bodies (`RecordInvalid` with `details`, `RecordNotFound`, the plain-text 429);
 * - bulk endpoints answer with a queued job_status that a later poll reports completed;
 * - rate-limit headers on every answer and, past `opts.rate`, 429 + Retry-After (which
 *   node-zendesk 6 RESOLVES with an Error instead of throwing);
 * - incremental exports leave out the last minute and page by cursor or time;
 * - profile events are filed under a profile (source, type, identifier; created with its user
 *   when none matches), found by identifier query (`{profile}`, or a 404 `errors` list) or by
 *   user (`{profiles}`); deleting a profile (204) deletes its events, the only way to;
 * - writes to organizations and users echo back as signed event-subscribed webhooks, and
 *   only for what actually changed (writing the same value again sends nothing).
 *
 * Writes apply to `state` when the request is handled, jobs included (the job only reports
 * its progress lazily). Seeding helpers change `state` without echoing.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { signZendeskPayload } from '../../../connectors/zendesk/signature.js';
import {
  ArmedFailures,
  FaultInjector,
  FixedWindowRateLimiter,
  listenOnLoopback,
  type RateDecision,
} from '../common.js';
import { createHelpCenterStandIn, STANDIN_USER_COOKIE } from '../zendesk-help-center.js';
import { createThemeStandIn } from '../zendesk-theme.js';
import { createBrandBook } from '../zendesk-brands.js';
import {
  closedPolicy,
  endUserMayRead,
  isPolicyId,
  parseAccessRule,
  patchPolicy,
  type AccessRule,
  type Problems,
} from '../zendesk-access.js';
import {
  BULK_LIMIT,
  DEFAULT_CREDENTIALS,
  type Details,
  ECHO_EVENTS,
  END_USER_PATHS,
  EXPORT_PAGE,
  FIELD_TYPES,
  HttpError,
  type Json,
  UNENFORCED_RATE,
  ZENDESK_TOO_MANY_REQUESTS,
  blank,
  byPosition,
  csv,
  decodeCursor,
  defaultFailureBody,
  encodeCursor,
  invalid,
  isRecord,
  iso,
  lower,
  positiveInt,
  same,
  send,
  taken,
  unixOf,
  zendeskErrors,
  organizationDetail,
  userDetail,
  customField,
  tagChange,
  presentProfile,
  presentEvent,
  jobOf,
  listOf,
} from './render.js';
import {
  type ZendeskCall,
  type ZendeskCustomObject,
  type ZendeskCustomObjectRecord,
  type ZendeskFieldDefinition,
  type ZendeskJobResult,
  type ZendeskJobStatus,
  type ZendeskOrganization,
  type ZendeskProfileIdentifier,
  type ZendeskStandIn,
  type ZendeskStandInOptions,
  type ZendeskState,
  type ZendeskTicket,
  type ZendeskTicketStatus,
  type ZendeskUser,
  type ZendeskWebhookDelivery,
} from './types.js';

export * from './types.js';
export { ZENDESK_TOO_MANY_REQUESTS } from './render.js';
// ---------------------------------------------------------------------------------------------
// The stand-in
// ---------------------------------------------------------------------------------------------

export async function startZendeskStandIn(opts: ZendeskStandInOptions = {}): Promise<ZendeskStandIn> {
  const now = opts.now ?? Date.now;
  const accountId = opts.accountId ?? 10000001;
  const pollsUntilComplete = Math.max(1, opts.jobPollsUntilComplete ?? 1);
  const exportLagSeconds = Math.max(0, opts.exportLagSeconds ?? 60);
  const credentials = opts.auth ?? DEFAULT_CREDENTIALS;
  const enforced = opts.rate ? new FixedWindowRateLimiter(opts.rate, now) : undefined;
  const reported = enforced ?? new FixedWindowRateLimiter(UNENFORCED_RATE, now);
  const faults = new FaultInjector(opts.faults ?? null);
  const failures = new ArmedFailures<unknown>();
  const subscriptions = new Set<string>(opts.webhook?.subscriptions ?? ECHO_EVENTS);

  const state: ZendeskState = {
    organizations: new Map(),
    users: new Map(),
    tickets: new Map(),
    brands: new Map(),
    organizationFields: [],
    userFields: [],
    customObjects: new Map(),
    customObjectFields: new Map(),
    customObjectRecords: new Map(),
    profiles: new Map(),
    profileEvents: [],
    jobStatuses: new Map(),
    customObjectAccess: new Map(),
  };
  const calls: ZendeskCall[] = [];
  const webhookDeliveries: ZendeskWebhookDelivery[] = [];
  const jobs = new Map<string, { final: ZendeskJobStatus; polls: number }>();

  // Ids look like Zendesk's: large for organizations/users/fields, small for tickets.
  const sequences = {
    organization: 7000000000000,
    user: 8000000000000,
    ticket: 0,
    field: 360000000000,
    record: 0,
    event: 0,
    profile: 0,
    audit: 0,
  };
  const nextId = (kind: 'organization' | 'user' | 'ticket' | 'field', wanted?: number): number => {
    const id = wanted ?? sequences[kind] + 1;
    sequences[kind] = Math.max(sequences[kind], id);
    return id;
  };
  const stamp = () => iso(now());

  let baseUrl = ''; // known once listening; urls inside objects use it
  const brandBook = createBrandBook(() => baseUrl, stamp);
  state.brands = brandBook.brands;

  // --- echo webhooks -----------------------------------------------------------------------

  interface Echo {
    type: string;
    subject: string;
    detail: Json;
    event: Json;
  }
  // The echoes of the request being handled (handlers are synchronous); seeding has no sink, so it never echoes.
  let sink: Echo[] | undefined;
  const abort = new AbortController();
  let deliveryChain: Promise<void> = Promise.resolve();
  let invocation = 0;

  const stage = (type: string, subject: string, detail: Json, event: Json) => {
    if (opts.webhook && subscriptions.has(type)) sink?.push({ type, subject, detail, event });
  };

  const deliver = async (hook: NonNullable<ZendeskStandInOptions['webhook']>, item: Echo) => {
    const id = randomUUID();
    const timestamp = stamp();
    const body = JSON.stringify({
      type: `zen:event-type:${item.type}`,
      account_id: accountId,
      id,
      time: timestamp,
      zendesk_event_version: '2022-06-20',
      subject: item.subject,
      detail: item.detail,
      event: item.event,
    });
    const record: ZendeskWebhookDelivery = { id, type: `zen:event-type:${item.type}`, subject: item.subject, body };
    webhookDeliveries.push(record);
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        body,
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(12_000)]),
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Zendesk Webhook',
          'x-zendesk-account-id': String(accountId),
          'x-zendesk-webhook-id': hook.webhookId ?? '01STANDINWEBHOOK0000000000',
          'x-zendesk-webhook-invocation-id': String(9000000000 + ++invocation),
          'x-zendesk-webhook-signature-timestamp': timestamp,
          'x-zendesk-webhook-signature': signZendeskPayload(body, hook.secret, timestamp),
        },
      });
      record.status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
  };

  /** Sends what a request changed, after its response went out, one delivery at a time. */
  const releaseEchoes = (batch: Echo[]) => {
    const hook = opts.webhook;
    if (!hook) return;
    for (const item of batch) deliveryChain = deliveryChain.then(() => deliver(hook, item));
  };

  /** One event per attribute that changed, as Zendesk sends them; nothing when nothing changed. */
  const echoOrganization = (before: ZendeskOrganization | null, after: ZendeskOrganization) => {
    const subject = `zen:organization:${after.id}`;
    const detail = organizationDetail(after);
    if (!before) return stage('organization.created', subject, detail, {});
    if (before.name !== after.name)
      stage('organization.name_changed', subject, detail, { current: after.name, previous: before.name });
    if (before.external_id !== after.external_id) {
      stage('organization.external_id_changed', subject, detail, {
        current: after.external_id,
        previous: before.external_id,
      });
    }
    if (!same(before.tags, after.tags))
      stage('organization.tags_changed', subject, detail, tagChange(before.tags, after.tags));
    for (const key of new Set([
      ...Object.keys(before.organization_fields),
      ...Object.keys(after.organization_fields),
    ])) {
      const previous = before.organization_fields[key] ?? null;
      const current = after.organization_fields[key] ?? null;
      if (same(previous, current)) continue;
      stage('organization.custom_field_changed', subject, detail, {
        current,
        previous,
        custom_field: customField(state.organizationFields, key),
      });
    }
  };
  const echoUser = (before: ZendeskUser | null, after: ZendeskUser) => {
    const subject = `zen:user:${after.id}`;
    const detail = userDetail(after);
    if (!before) return stage('user.created', subject, detail, {});
    if (before.name !== after.name)
      stage('user.name_changed', subject, detail, { current: after.name, previous: before.name });
    if (before.external_id !== after.external_id)
      stage('user.external_id_changed', subject, detail, { current: after.external_id, previous: before.external_id });
    if (before.role !== after.role)
      stage('user.role_changed', subject, detail, { current: after.role, previous: before.role });
    if (!same(before.tags, after.tags)) stage('user.tags_changed', subject, detail, tagChange(before.tags, after.tags));
    for (const key of new Set([...Object.keys(before.user_fields), ...Object.keys(after.user_fields)])) {
      const previous = before.user_fields[key] ?? null;
      const current = after.user_fields[key] ?? null;
      if (same(previous, current)) continue;
      stage('user.custom_field_changed', subject, detail, {
        current,
        previous,
        custom_field: customField(state.userFields, key),
      });
    }
  };

  // --- organizations ---------------------------------------------------------------------

  const organizationByExternalId = (externalId: string) => {
    const wanted = externalId.toLowerCase(); // Zendesk: external ids are case-insensitive
    return [...state.organizations.values()].find((o) => lower(o.external_id) === wanted);
  };
  const presentOrganization = (o: ZendeskOrganization) => ({
    ...o,
    organization_fields: {
      ...Object.fromEntries(state.organizationFields.map((f) => [f.key, null])),
      ...o.organization_fields,
    },
  });

  /** Applies a write to a copy, validates it, then commits; returns whether anything changed. */
  /** Stores a validated draft: changes `existing` in place (echoing a real change) or files it under a new id. */
  const commitWrite = <T extends { id: number; url: string; updated_at: string }>(
    kind: 'organization' | 'user',
    store: Map<number, T>,
    echo: (before: T | null, after: T) => void,
    existing: T | undefined,
    draft: T,
    time: string,
  ): { stored: T; created: boolean; changed: boolean } => {
    if (existing) {
      const changed = !same(existing, draft);
      if (changed) {
        const before = structuredClone(existing);
        Object.assign(existing, draft, { updated_at: time });
        echo(before, existing);
      }
      return { stored: existing, created: false, changed };
    }
    draft.id = nextId(kind);
    draft.url = `${baseUrl}/${kind}s/${draft.id}.json`;
    store.set(draft.id, draft);
    echo(null, draft);
    return { stored: draft, created: true, changed: true };
  };

  const writeOrganization = (
    existing: ZendeskOrganization | undefined,
    input: Json,
  ): { org: ZendeskOrganization; created: boolean; changed: boolean } => {
    const time = stamp();
    const draft: ZendeskOrganization = existing
      ? structuredClone(existing)
      : {
          url: '',
          id: 0,
          name: '',
          external_id: null,
          shared_tickets: false,
          shared_comments: false,
          domain_names: [],
          details: null,
          notes: null,
          group_id: null,
          tags: [],
          organization_fields: {},
          created_at: time,
          updated_at: time,
        };
    if ('name' in input) draft.name = typeof input.name === 'string' ? input.name.trim() : '';
    if ('external_id' in input)
      draft.external_id = input.external_id === null || input.external_id === '' ? null : String(input.external_id);
    for (const key of ['details', 'notes'] as const)
      if (key in input) draft[key] = input[key] === null ? null : String(input[key]);
    if ('group_id' in input) draft.group_id = positiveInt(input.group_id) ?? null;
    if ('shared_tickets' in input) draft.shared_tickets = input.shared_tickets === true;
    if ('shared_comments' in input) draft.shared_comments = input.shared_comments === true;
    if (Array.isArray(input.domain_names)) draft.domain_names = input.domain_names.map(String);
    if (Array.isArray(input.tags)) draft.tags = [...new Set(input.tags.map((t) => String(t).toLowerCase()))];
    if ('organization_fields' in input) {
      if (!isRecord(input.organization_fields))
        throw invalid({
          organization_fields: [{ description: 'Organization fields: is invalid', error: 'InvalidValue' }],
        });
      Object.assign(draft.organization_fields, input.organization_fields);
    }
    if (!draft.name) throw invalid(blank('name', 'Name'));
    // Checked when set or changed (a scan of every organization): a fields-only update of one of 100,000 stays cheap.
    const others = () => [...state.organizations.values()].filter((o) => o.id !== existing?.id);
    if (draft.name !== existing?.name && others().some((o) => o.name.toLowerCase() === draft.name.toLowerCase()))
      throw invalid(taken('name', 'Name'));
    if (
      draft.external_id &&
      draft.external_id !== existing?.external_id &&
      others().some((o) => lower(o.external_id) === lower(draft.external_id))
    ) {
      throw invalid(taken('external_id', 'External'));
    }

    const { stored, created, changed } = commitWrite(
      'organization',
      state.organizations,
      echoOrganization,
      existing,
      draft,
      time,
    );
    return { org: stored, created, changed };
  };

  // --- users -----------------------------------------------------------------------------

  const userByEmail = (email: string) => [...state.users.values()].find((u) => lower(u.email) === email.toLowerCase());
  const userByExternalId = (externalId: string) =>
    [...state.users.values()].find((u) => lower(u.external_id) === externalId.toLowerCase());
  const presentUser = (u: ZendeskUser) => ({
    ...u,
    user_fields: { ...Object.fromEntries(state.userFields.map((f) => [f.key, null])), ...u.user_fields },
  });
  /** create_or_update matches on id, then external_id, then email. */
  const matchUser = (input: Json): ZendeskUser | undefined => {
    const id = positiveInt(input.id);
    if (id !== undefined) return state.users.get(id);
    const byExternal =
      typeof input.external_id === 'string' && input.external_id ? userByExternalId(input.external_id) : undefined;
    return byExternal ?? (typeof input.email === 'string' && input.email ? userByEmail(input.email) : undefined);
  };

  const writeUser = (
    existing: ZendeskUser | undefined,
    input: Json,
  ): { user: ZendeskUser; created: boolean; changed: boolean } => {
    const time = stamp();
    const draft: ZendeskUser = existing
      ? structuredClone(existing)
      : {
          url: '',
          id: 0,
          name: '',
          email: null,
          external_id: null,
          organization_id: null,
          role: 'end-user',
          active: true,
          verified: false,
          suspended: false,
          locale: 'en-US',
          time_zone: 'Eastern Time (US & Canada)',
          phone: null,
          details: null,
          notes: null,
          default_group_id: null,
          tags: [],
          user_fields: {},
          created_at: time,
          updated_at: time,
        };
    if ('name' in input) draft.name = typeof input.name === 'string' ? input.name.trim() : '';
    if ('email' in input)
      draft.email = typeof input.email === 'string' && input.email.trim() ? input.email.trim() : null;
    if ('external_id' in input)
      draft.external_id = input.external_id === null || input.external_id === '' ? null : String(input.external_id);
    if ('organization_id' in input) draft.organization_id = positiveInt(input.organization_id) ?? null;
    if (typeof input.role === 'string') draft.role = input.role;
    for (const key of ['phone', 'details', 'notes'] as const)
      if (key in input) draft[key] = input[key] === null ? null : String(input[key]);
    for (const key of ['verified', 'suspended', 'active'] as const)
      if (typeof input[key] === 'boolean') draft[key] = input[key];
    for (const key of ['locale', 'time_zone'] as const) if (typeof input[key] === 'string') draft[key] = input[key];
    if (Array.isArray(input.tags)) draft.tags = [...new Set(input.tags.map((t) => String(t).toLowerCase()))];
    if ('user_fields' in input) {
      if (!isRecord(input.user_fields))
        throw invalid({ user_fields: [{ description: 'User fields: is invalid', error: 'InvalidValue' }] });
      Object.assign(draft.user_fields, input.user_fields);
    }
    if (!draft.name)
      throw invalid({ name: [{ description: 'Name: is too short (minimum is 1 character)', error: 'InvalidValue' }] });
    if (draft.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(draft.email)) {
      throw invalid({
        email: [{ description: `Email: ${draft.email} is not properly formatted`, error: 'InvalidFormat' }],
      });
    }
    if (draft.organization_id !== null && !state.organizations.has(draft.organization_id)) {
      throw invalid({ organization_id: [{ description: 'Organization: is invalid', error: 'InvalidValue' }] });
    }
    const others = () => [...state.users.values()].filter((u) => u.id !== existing?.id);
    if (draft.email && draft.email !== existing?.email && others().some((u) => lower(u.email) === lower(draft.email)))
      throw invalid(taken('email', 'Email'));
    if (
      draft.external_id &&
      draft.external_id !== existing?.external_id &&
      others().some((u) => lower(u.external_id) === lower(draft.external_id))
    ) {
      throw invalid(taken('external_id', 'External'));
    }

    const { stored, created, changed } = commitWrite('user', state.users, echoUser, existing, draft, time);
    return { user: stored, created, changed };
  };

  // --- jobs --------------------------------------------------------------------------------

  const startJob = (jobType: string, results: ZendeskJobResult[]): ZendeskJobStatus => {
    const id = randomUUID().replace(/-/g, '');
    const base = { id, url: `${baseUrl}/job_statuses/${id}.json`, job_type: jobType, total: results.length };
    const queued: ZendeskJobStatus = { ...base, progress: null, status: 'queued', message: null, results: null };
    jobs.set(id, {
      final: { ...base, progress: results.length, status: 'completed', message: `Completed at ${stamp()}`, results },
      polls: 0,
    });
    state.jobStatuses.set(id, queued);
    return queued;
  };
  const pollJob = (id: string): ZendeskJobStatus | undefined => {
    const job = jobs.get(id);
    if (!job) return undefined;
    job.polls += 1;
    const view: ZendeskJobStatus =
      job.polls >= pollsUntilComplete
        ? job.final
        : { ...job.final, status: 'working', progress: Math.floor(job.final.total / 2), message: null, results: null };
    state.jobStatuses.set(id, view);
    return view;
  };
  const bulkItems = (value: unknown, what: string): Json[] => {
    if (!Array.isArray(value) || value.length === 0)
      throw new HttpError(400, zendeskErrors.invalidValue(`${what} must be a non-empty array`));
    if (value.length > BULK_LIMIT)
      throw new HttpError(400, zendeskErrors.invalidValue(`Too many ${what}: at most ${BULK_LIMIT} per request`));
    return value.map((v) => (isRecord(v) ? v : {}));
  };
  /** A failed item inside a job: the job itself still completes. */
  const failedItem = (index: number, action: string, err: unknown, id?: number | string): ZendeskJobResult => {
    const body = err instanceof HttpError && isRecord(err.body) ? err.body : {};
    const details = isRecord(body.details)
      ? Object.values(body.details)
          .flat()
          .map((d) => (isRecord(d) ? String(d.description) : ''))
          .join(' ')
      : String(body.description ?? 'Not found');
    return {
      ...(id !== undefined && { id }),
      index,
      action,
      status: 'Failed',
      success: false,
      error: String(body.error ?? 'RecordInvalid'),
      details,
    };
  };

  // --- fields --------------------------------------------------------------------------------

  const createField = (defs: ZendeskFieldDefinition[], urlBase: string, input: unknown): ZendeskFieldDefinition => {
    const f = isRecord(input) ? input : {};
    const key = typeof f.key === 'string' ? f.key.trim() : '';
    const type = typeof f.type === 'string' ? f.type : '';
    const title = typeof f.title === 'string' ? f.title.trim() : '';
    const details: Details = {
      ...(!key && blank('key', 'Key')),
      ...(!title && blank('title', 'Title')),
      ...(!FIELD_TYPES.has(type) && {
        type: [{ description: `Type: ${type || 'blank'} is not a valid field type`, error: 'InvalidValue' }],
      }),
      ...(key && defs.some((d) => d.key === key) && taken('key', 'Key')),
    };
    if (Object.keys(details).length > 0) throw invalid(details);
    const time = stamp();
    const id = nextId('field');
    const description = typeof f.description === 'string' ? f.description : '';
    const field: ZendeskFieldDefinition = {
      url: `${baseUrl}/${urlBase}/${id}.json`,
      id,
      key,
      type,
      title,
      raw_title: title,
      description,
      raw_description: description,
      position: defs.length,
      active: f.active !== false,
      system: false,
      regexp_for_validation: typeof f.regexp_for_validation === 'string' ? f.regexp_for_validation : null,
      ...(type === 'lookup' &&
        typeof f.relationship_target_type === 'string' && { relationship_target_type: f.relationship_target_type }),
      ...(Array.isArray(f.custom_field_options) && {
        custom_field_options: f.custom_field_options.filter(isRecord).map((o, i) => ({
          id: id * 100 + i,
          name: String(o.name ?? ''),
          raw_name: String(o.name ?? ''),
          value: String(o.value ?? ''),
        })),
      }),
      created_at: time,
      updated_at: time,
    };
    defs.push(field);
    return field;
  };

  // --- custom objects --------------------------------------------------------------------

  const objectOr404 = (key: string): ZendeskCustomObject => {
    const object = state.customObjects.get(key);
    if (!object) throw new HttpError(404, zendeskErrors.errorsList(404, 'NotFound', 'Custom object not found'));
    return object;
  };
  const recordsOf = (key: string): Map<string, ZendeskCustomObjectRecord> => {
    let records = state.customObjectRecords.get(key);
    if (!records) state.customObjectRecords.set(key, (records = new Map()));
    return records;
  };
  /** Records are kept under their external id (their id when they have none), and an external id never changes. */
  const recordBy = (key: string, by: { id?: string; externalId?: string }) => {
    if (by.id === undefined) {
      const record = by.externalId === undefined ? undefined : recordsOf(key).get(by.externalId);
      return record?.external_id === by.externalId ? record : undefined;
    }
    return [...recordsOf(key).values()].find((r) => r.id === by.id);
  };
  const accessOf = (key: string) => {
    let access = state.customObjectAccess.get(key);
    if (!access) state.customObjectAccess.set(key, (access = { rules: [], policies: new Map() }));
    return access;
  };
  const recordNotFound = () =>
    new HttpError(404, zendeskErrors.errorsList(404, 'RecordNotFound', 'Custom object record not found'));
  const recordInvalid = (detail: string) => new HttpError(422, zendeskErrors.errorsList(422, 'RecordInvalid', detail));

  const createCustomObject = (input: unknown): ZendeskCustomObject => {
    const o = isRecord(input) ? input : {};
    const key = typeof o.key === 'string' ? o.key.trim() : '';
    const title = typeof o.title === 'string' ? o.title.trim() : '';
    const plural = typeof o.title_pluralized === 'string' ? o.title_pluralized.trim() : '';
    if (!key || !title || !plural) throw recordInvalid('key, title and title_pluralized are required');
    if (state.customObjects.has(key)) throw recordInvalid(`Key ${key} has already been taken`);
    const time = stamp();
    const description = typeof o.description === 'string' ? o.description : null;
    const object: ZendeskCustomObject = {
      url: `${baseUrl}/custom_objects/${key}.json`,
      key,
      title,
      raw_title: title,
      title_pluralized: plural,
      raw_title_pluralized: plural,
      description,
      raw_description: description,
      include_in_list_view: o.include_in_list_view === true,
      allows_photos: o.allows_photos === true,
      created_by_user_id: '1',
      updated_by_user_id: '1',
      created_at: time,
      updated_at: time,
    };
    state.customObjects.set(key, object);
    state.customObjectFields.set(key, []);
    recordsOf(key);
    return object;
  };

  const writeRecord = (
    key: string,
    existing: ZendeskCustomObjectRecord | undefined,
    input: unknown,
    externalId?: string,
  ) => {
    const r = isRecord(input) ? input : {};
    if ('custom_object_fields' in r && !isRecord(r.custom_object_fields))
      throw recordInvalid('custom_object_fields must be an object');
    const fields = isRecord(r.custom_object_fields) ? r.custom_object_fields : {};
    const name = typeof r.name === 'string' ? r.name.trim() : undefined;
    const records = recordsOf(key);
    const time = stamp();
    if (existing) {
      const next = {
        ...existing,
        custom_object_fields: { ...existing.custom_object_fields, ...fields },
        ...(name && { name }),
      };
      const changed = !same(existing, next);
      if (changed) Object.assign(existing, next, { updated_at: time });
      return { record: existing, created: false, changed };
    }
    // The display name is mandatory when a record is created (unless the object autonumbers names).
    if (!name) throw recordInvalid('Name is required');
    const ext = externalId ?? (typeof r.external_id === 'string' && r.external_id ? r.external_id : null);
    if (ext !== null && recordBy(key, { externalId: ext }))
      throw recordInvalid(`External id ${ext} has already been taken`);
    const id = `01STANDIN${String(++sequences.record).padStart(17, '0')}`;
    const record: ZendeskCustomObjectRecord = {
      url: `${baseUrl}/custom_objects/${key}/records/${id}.json`,
      id,
      name,
      external_id: ext,
      custom_object_key: key,
      custom_object_fields: { ...fields },
      created_by_user_id: '1',
      updated_by_user_id: '1',
      created_at: time,
      updated_at: time,
      photo: null,
    };
    records.set(ext ?? id, record);
    return { record, created: true, changed: true };
  };
  const deleteRecord = (key: string, record: ZendeskCustomObjectRecord) =>
    recordsOf(key).delete(record.external_id ?? record.id);

  // --- profile events ----------------------------------------------------------------------

  /** `email:x` or `source:type:email:x` (Zendesk's identifier query). */
  const parseIdentifierQuery = (query: string) => {
    const parts = query.split(':');
    if (parts.length >= 4)
      return { source: parts[0], type: parts[1], idType: parts[2] ?? '', value: parts.slice(3).join(':') };
    if (parts.length >= 2) return { idType: parts[0] ?? '', value: parts.slice(1).join(':') };
    return undefined;
  };
  const sameIdentifier = (a: ZendeskProfileIdentifier, b: ZendeskProfileIdentifier) =>
    a.type === b.type && (a.type === 'email' ? a.value.toLowerCase() === b.value.toLowerCase() : a.value === b.value);
  /** The profile with this source and type holding any of these identifiers (Zendesk's match for a profile). */
  const profileMatching = (source: string, type: string, identifiers: readonly ZendeskProfileIdentifier[]) =>
    [...state.profiles.values()].find(
      (p) =>
        p.source === source &&
        p.type === type &&
        p.identifiers.some((i) => identifiers.some((j) => sameIdentifier(i, j))),
    );
  const profileNotFound = () => new HttpError(404, zendeskErrors.errorsList(404, 'NotFound', 'Profile not found'));

  // --- exports ---------------------------------------------------------------------------

  const exportCutoff = () => Math.floor(now() / 1000) - exportLagSeconds;

  // Exports page through up to 100,000s of objects: each keeps its objects sorted by (timestamp, id), checked
  // against the collection on every call (tests change objects in place) and sorted again only when one moved.
  const indexes = new Map<string, { ts: Map<object, number>; sorted: Array<{ item: { id: number }; ts: number }> }>();
  const parsed = new WeakMap<object, { raw: string; ts: number }>();
  const updatedTs = (o: { updated_at: string }): number => {
    const hit = parsed.get(o);
    if (hit?.raw === o.updated_at) return hit.ts;
    const ts = unixOf(o.updated_at);
    parsed.set(o, { raw: o.updated_at, ts });
    return ts;
  };
  const positions = <T extends { id: number }>(
    name: string,
    items: Map<number, T>,
    ts: (t: T) => number,
  ): Array<{ item: T; ts: number }> => {
    const cached = indexes.get(name);
    let valid = cached !== undefined && cached.ts.size === items.size;
    if (valid) {
      for (const item of items.values()) {
        if (cached!.ts.get(item) !== ts(item)) {
          valid = false;
          break;
        }
      }
    }
    if (valid) return cached!.sorted as Array<{ item: T; ts: number }>;
    const sorted = byPosition(items.values(), ts);
    indexes.set(name, { ts: new Map(sorted.map((e) => [e.item, e.ts])), sorted });
    return sorted;
  };
  /** The first position whose entry is not `before` the boundary (entries before it come first). */
  const firstIndex = <E>(entries: readonly E[], before: (e: E) => boolean): number => {
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(entries[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  /** Cursor-based export (tickets, users): `start_time` then `cursor`, ≤1000 per page. */
  const cursorExport = <T extends { id: number }>(
    res: Response,
    query: URLSearchParams,
    path: string,
    key: string,
    items: Map<number, T>,
    ts: (t: T) => number,
    present: (t: T) => unknown,
  ) => {
    // node-zendesk 6's exportCursor(start_time) sends `cursor=undefined` on the first page.
    const rawCursor = query.get('cursor');
    const cursor = rawCursor && rawCursor !== 'undefined' ? rawCursor : undefined;
    let after: [number, number];
    if (cursor !== undefined) {
      const parts = decodeCursor(cursor);
      const [t, id] = (parts ?? []).map(Number);
      if (t === undefined || id === undefined || !Number.isFinite(t) || !Number.isFinite(id)) {
        throw new HttpError(400, zendeskErrors.invalidValue('cursor is invalid'));
      }
      after = [t, id];
    } else {
      const start = Number(query.get('start_time'));
      if (query.get('start_time') === null || !Number.isInteger(start) || start < 0) {
        throw new HttpError(400, zendeskErrors.invalidValue('start_time or cursor is required'));
      }
      after = [start, 0]; // strictly after (start, 0) means at or after start
    }
    const perPage = Math.min(EXPORT_PAGE, positiveInt(query.get('per_page')) ?? EXPORT_PAGE);
    const cutoff = exportCutoff();
    const sorted = positions(key, items, ts);
    const from = firstIndex(sorted, (e) => e.ts < after[0] || (e.ts === after[0] && e.item.id <= after[1]));
    const eligible = sorted.slice(
      from,
      Math.max(
        from,
        firstIndex(sorted, (e) => e.ts <= cutoff),
      ),
    );
    const page = eligible.slice(0, perPage);
    const first = page[0];
    const last = page.at(-1);
    const afterCursor = last ? encodeCursor([last.ts, last.item.id]) : encodeCursor(after);
    const beforeCursor = first ? encodeCursor([first.ts, first.item.id - 1]) : null;
    send(res, 200, {
      [key]: page.map(({ item }) => present(item)),
      after_url: `${baseUrl}/${path}.json?cursor=${afterCursor}`,
      after_cursor: afterCursor,
      before_url: beforeCursor ? `${baseUrl}/${path}.json?cursor=${beforeCursor}` : null,
      before_cursor: beforeCursor,
      end_of_stream: eligible.length <= perPage,
    });
  };

  /** Time-based export (organizations, users): items changed at or after start_time; end_time feeds the next page. */
  const timeExport = <T extends { id: number; updated_at: string }>(
    res: Response,
    query: URLSearchParams,
    path: string,
    key: string,
    items: Map<number, T>,
    present: (t: T) => unknown,
  ) => {
    const start = Number(query.get('start_time'));
    if (query.get('start_time') === null || !Number.isInteger(start) || start < 0)
      throw new HttpError(400, zendeskErrors.invalidValue('start_time is required'));
    const perPage = Math.min(EXPORT_PAGE, positiveInt(query.get('per_page')) ?? EXPORT_PAGE);
    const cutoff = exportCutoff();
    const sorted = positions(key, items, updatedTs);
    const from = firstIndex(sorted, (e) => e.ts < start);
    const eligible = sorted.slice(
      from,
      Math.max(
        from,
        firstIndex(sorted, (e) => e.ts <= cutoff),
      ),
    );
    const page = eligible.slice(0, perPage);
    const endTime = page.at(-1)?.ts ?? start;
    send(res, 200, {
      [key]: page.map(({ item }) => present(item)),
      next_page: `${baseUrl}/${path}.json?start_time=${endTime}`,
      previous_page: null,
      count: page.length,
      end_time: endTime,
      end_of_stream: eligible.length <= perPage,
    });
  };

  /** Cursor pagination of a list endpoint (`page[size]` ≤100, `page[after]`), in creation order. */
  const cursorPage = <T>(
    res: Response,
    q: URLSearchParams,
    path: string,
    key: string,
    all: T[],
    idOf: (t: T) => string,
    present: (t: T) => unknown,
  ) => {
    const size = Math.min(100, positiveInt(q.get('page[size]')) ?? 100);
    let start = 0;
    const afterCursor = q.get('page[after]');
    if (afterCursor) {
      const index = all.findIndex((item) => encodeCursor(['p', idOf(item)]) === afterCursor);
      if (index < 0) throw new HttpError(400, zendeskErrors.invalidValue('page[after] is not a valid cursor'));
      start = index + 1;
    }
    const page = all.slice(start, start + size);
    const hasMore = start + size < all.length;
    const first = page[0];
    const last = page.at(-1);
    const after = last === undefined ? null : encodeCursor(['p', idOf(last)]);
    const before = first === undefined ? null : encodeCursor(['p', idOf(first)]);
    const kept = [...q.entries()].filter(([k]) => !k.startsWith('page['));
    const link = (cursorKey: string, cursor: string) => {
      const params = new URLSearchParams([...kept, ['page[size]', String(size)], [cursorKey, cursor]]);
      return `${baseUrl}/${path}?${params.toString().replace(/%5B/g, '[').replace(/%5D/g, ']')}`;
    };
    send(res, 200, {
      [key]: page.map(present),
      meta: { has_more: hasMore, after_cursor: after, before_cursor: before },
      links: {
        next: hasMore && after ? link('page[after]', after) : null,
        prev: start > 0 && before ? link('page[before]', before) : null,
      },
    });
  };

  // --- tickets ------------------------------------------------------------------------------

  const newTicket = (input: Partial<ZendeskTicket>): ZendeskTicket => {
    const time = input.updated_at ?? input.created_at ?? stamp();
    const id = nextId('ticket', input.id);
    const subject = input.subject ?? `Ticket ${id}`;
    return {
      url: `${baseUrl}/tickets/${id}.json`,
      external_id: null,
      raw_subject: input.raw_subject ?? subject,
      description: '',
      status: 'open',
      priority: null,
      type: null,
      requester_id: null,
      submitter_id: input.requester_id ?? null,
      assignee_id: null,
      organization_id: null,
      group_id: null,
      ticket_form_id: null,
      brand_id: brandBook.defaultBrandId(),
      tags: [],
      custom_fields: [],
      via: { channel: 'web' },
      is_public: true,
      created_at: input.created_at ?? time,
      generated_timestamp: unixOf(time),
      ...input,
      id,
      subject,
      updated_at: time,
    };
  };
  const updateTicket = (ticket: ZendeskTicket, input: Json) => {
    const draft = structuredClone(ticket);
    for (const key of ['subject', 'description', 'priority', 'type', 'external_id'] as const) {
      if (key in input) (draft as unknown as Json)[key] = input[key] === null ? null : String(input[key]);
    }
    if ('subject' in input) draft.raw_subject = draft.subject;
    if (typeof input.status === 'string') {
      if (!['new', 'open', 'pending', 'hold', 'solved', 'closed'].includes(input.status)) {
        throw invalid({ status: [{ description: `Status: ${input.status} is not valid`, error: 'InvalidValue' }] });
      }
      if (ticket.status === 'closed')
        throw invalid({
          status: [{ description: 'Status: closed prevents ticket update', error: 'ClosedPreventsUpdate' }],
        });
      draft.status = input.status as ZendeskTicketStatus;
    }
    for (const key of [
      'requester_id',
      'assignee_id',
      'organization_id',
      'group_id',
      'ticket_form_id',
      'brand_id',
    ] as const) {
      if (key in input) draft[key] = positiveInt(input[key]) ?? null;
    }
    if (Array.isArray(input.tags)) draft.tags = [...new Set(input.tags.map(String))];
    if (Array.isArray(input.custom_fields)) {
      for (const cf of input.custom_fields.filter(isRecord)) {
        const id = positiveInt(cf.id);
        if (id === undefined) continue;
        const slot = draft.custom_fields.find((f) => f.id === id);
        if (slot) slot.value = cf.value ?? null;
        else draft.custom_fields.push({ id, value: cf.value ?? null });
      }
    }
    // A comment alone is a change too (it adds an audit), so it bumps updated_at.
    const changed = !same(ticket, draft) || isRecord(input.comment);
    if (changed) {
      const time = now();
      Object.assign(ticket, draft, { updated_at: iso(time), generated_timestamp: Math.floor(time / 1000) });
    }
    return changed;
  };

  // ---------------------------------------------------------------------------------------
  // HTTP
  // ---------------------------------------------------------------------------------------

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const hung = new Set<Response>();
  // Help center JWTs: anonymous keys and the signed-in end user's token, outside the API's basic auth.
  const helpCenter = await createHelpCenterStandIn((id) => state.users.get(id), now);
  app.use(helpCenter.router);
  const theme = createThemeStandIn({
    signedIn: (req) => sessionUser(req.get('cookie')) !== undefined,
    findUser: (by) =>
      [...state.users.values()].find((u) => (by.email !== undefined ? u.email === by.email : u.name === by.name))?.id,
    cookieOf: (id) => `${STANDIN_USER_COOKIE}=${id}`,
  });
  app.use(theme.router);

  const setRateHeaders = (res: Response, d: RateDecision) => {
    const reset = String(Math.ceil(d.resetInMs / 1000));
    res.setHeader('X-Rate-Limit', String(d.limit));
    res.setHeader('X-Rate-Limit-Remaining', String(d.remaining));
    res.setHeader('ratelimit-limit', String(d.limit));
    res.setHeader('ratelimit-remaining', String(d.remaining));
    res.setHeader('ratelimit-reset', reset);
  };

  const authorized = (header: string | undefined): boolean => {
    const match = /^Basic\s+(.+)$/i.exec(header ?? '');
    if (!match?.[1]) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const sep = decoded.indexOf('/token:');
    if (sep <= 0) return false;
    const email = decoded.slice(0, sep);
    const token = decoded.slice(sep + '/token:'.length);
    return opts.auth ? email === opts.auth.email && token === opts.auth.token : email.includes('@') && token.length > 0;
  };

  /** The signed-in end user a help center session cookie names, if any. */
  const sessionUser = (cookie: string | undefined): ZendeskUser | undefined => {
    const value = new RegExp(`(?:^|;\\s*)${STANDIN_USER_COOKIE}=(\\d+)(?:;|$)`).exec(cookie ?? '')?.[1];
    return value === undefined ? undefined : state.users.get(Number(value));
  };

  // Gatekeeping: suffix, call log, auth, rate limit, failNext, faults; before any body is read.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const q = req.url.indexOf('?');
    const rawPath = q < 0 ? req.url : req.url.slice(0, q);
    const query = q < 0 ? '' : req.url.slice(q + 1);
    const path = rawPath.replace(/\.json$/, '');
    req.url = query ? `${path}?${query}` : path;
    res.locals.query = new URLSearchParams(query);

    const call: ZendeskCall = {
      method: req.method,
      path: path.replace(/^\/api\/v2(?=\/|$)/, '') || '/',
      query,
      status: 0,
      at: now(),
    };
    calls.push(call);
    res.once('finish', () => {
      call.status = res.statusCode;
    });
    if (!path.startsWith('/api/v2/')) return send(res, 404, zendeskErrors.invalidEndpoint());

    if (!authorized(req.get('authorization'))) {
      const endUser = sessionUser(req.get('cookie'));
      if (endUser === undefined || !END_USER_PATHS.some((p) => req.method === 'GET' && p.test(path))) {
        setRateHeaders(res, (enforced ?? reported).peek());
        return send(res, 401, zendeskErrors.unauthenticated());
      }
      res.locals.endUser = endUser;
    }
    const decision = enforced ? enforced.take() : { ...reported.take(), allowed: true };
    setRateHeaders(res, decision);
    if (!decision.allowed) {
      res.setHeader('Retry-After', String(Math.max(1, Math.ceil(decision.resetInMs / 1000))));
      return send(res, 429, ZENDESK_TOO_MANY_REQUESTS);
    }

    // Both are drawn on every call, so the fault sequence does not depend on failNext.
    const fault = faults.draw();
    const armed = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method) ? failures.take() : undefined;
    if (armed) {
      call.fault = 'failNext';
      if (armed.status === 429) res.setHeader('Retry-After', '1');
      return send(res, armed.status, armed.body);
    }
    if (fault) {
      call.fault = fault;
      if (fault === '500') return send(res, 500, { error: 'InternalError', description: 'Internal Server Error' });
      if (fault === '503') return send(res, 503, { error: 'ServiceUnavailable', description: 'Service Unavailable' });
      if (fault === 'reset') return void req.socket.destroy();
      hung.add(res); // 'timeout': never answered; close() destroys the socket
      res.once('close', () => hung.delete(res));
      return;
    }
    next();
  });
  app.use(express.json({ limit: '20mb' }));

  const api = express.Router();
  app.use('/api/v2', api);
  type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Registers a (synchronous) handler whose writes echo once its response has gone out. */
  const on = (method: Method, path: string, handler: (req: Request, res: Response) => void) => {
    api[method](path, (req: Request, res: Response) => {
      const echoes: Echo[] = [];
      res.once('finish', () => releaseEchoes(echoes));
      sink = echoes;
      try {
        handler(req, res);
      } finally {
        sink = undefined;
      }
    });
  };
  const param = (req: Request, name: string): string => {
    const value = req.params[name];
    if (typeof value !== 'string' || value === '') throw new HttpError(404, zendeskErrors.notFound());
    return value;
  };

  const query = (res: Response): URLSearchParams => res.locals.query as URLSearchParams;
  const body = (req: Request): Json => (isRecord(req.body) ? (req.body as Json) : {});
  const idParam = (req: Request): number => {
    const id = positiveInt(param(req, 'id'));
    if (id === undefined) throw new HttpError(404, zendeskErrors.notFound());
    return id;
  };

  // organizations
  on('get', '/organizations/show_many', (_req, res) => {
    const ids = csv(query(res).get('ids')).map(Number);
    const externalIds = csv(query(res).get('external_ids'));
    const found = [
      ...ids.map((id) => state.organizations.get(id)),
      ...externalIds.map((e) => organizationByExternalId(e)),
    ].filter((o): o is ZendeskOrganization => o !== undefined);
    send(res, 200, listOf('organizations', found.map(presentOrganization)));
  });
  on('post', '/organizations/create_or_update', (req, res) => {
    const input = body(req).organization;
    if (!isRecord(input)) throw new HttpError(400, zendeskErrors.invalidValue('organization is required'));
    const id = positiveInt(input.id);
    const existing =
      id !== undefined
        ? state.organizations.get(id)
        : typeof input.external_id === 'string' && input.external_id
          ? organizationByExternalId(input.external_id)
          : undefined;
    if (id !== undefined && !existing) throw new HttpError(404, zendeskErrors.notFound());
    const { org, created } = writeOrganization(existing, input);
    send(res, created ? 201 : 200, { organization: presentOrganization(org) });
  });
  on('post', '/organizations/create_many', (req, res) => {
    const items = bulkItems(body(req).organizations, 'organizations');
    const results = items.map((item, index): ZendeskJobResult => {
      try {
        const { id: _ignored, ...attrs } = item;
        const { org } = writeOrganization(undefined, attrs);
        return { id: org.id, index, action: 'create', status: 'Created', success: true };
      } catch (err) {
        return failedItem(index, 'create', err);
      }
    });
    send(res, 200, jobOf(startJob('Bulk Create Organizations', results)));
  });
  /**
   * PUT /{organizations,users}/update_many: either `{<plural>: [{id, ...}]}`, or `?ids=` / `?external_ids=`
   * with one `{<singular>}` for all; at most BULK_LIMIT; answered with a queued job_status.
   */
  const updateMany =
    <T extends { id: number }>(spec: {
      plural: 'organizations' | 'users';
      singular: 'organization' | 'user';
      byId: (id: number) => T | undefined;
      byExternalId: (externalId: string) => T | undefined;
      write: (existing: T, attrs: Json) => void;
      title: string;
    }) =>
    (req: Request, res: Response) => {
      const b = body(req);
      const q = query(res);
      const one = isRecord(b[spec.singular]) ? (b[spec.singular] as Json) : {};
      const targets: { id?: number; externalId?: string; input: Json }[] = Array.isArray(b[spec.plural])
        ? bulkItems(b[spec.plural], spec.plural).map((o) => ({
            ...(positiveInt(o.id) !== undefined && { id: positiveInt(o.id) }),
            input: o,
          }))
        : [
            ...csv(q.get('ids')).map((id) => ({ id: Number(id), input: one })),
            ...csv(q.get('external_ids')).map((e) => ({ externalId: e, input: one })),
          ];
      if (targets.length === 0)
        throw new HttpError(400, zendeskErrors.invalidValue(`${spec.plural}, ids or external_ids are required`));
      if (targets.length > BULK_LIMIT)
        throw new HttpError(
          400,
          zendeskErrors.invalidValue(`Too many ${spec.plural}: at most ${BULK_LIMIT} per request`),
        );
      const results = targets.map(({ id, externalId, input }, index): ZendeskJobResult => {
        const existing =
          id !== undefined ? spec.byId(id) : externalId !== undefined ? spec.byExternalId(externalId) : undefined;
        if (!existing)
          return failedItem(index, 'update', new HttpError(404, zendeskErrors.notFound()), id ?? externalId);
        try {
          const { id: _ignored, ...attrs } = input;
          spec.write(existing, attrs);
          return { id: existing.id, index, action: 'update', status: 'Updated', success: true };
        } catch (err) {
          return failedItem(index, 'update', err, existing.id);
        }
      });
      send(res, 200, jobOf(startJob(spec.title, results)));
    };
  on(
    'put',
    '/organizations/update_many',
    updateMany({
      plural: 'organizations',
      singular: 'organization',
      byId: (id) => state.organizations.get(id),
      byExternalId: organizationByExternalId,
      write: writeOrganization,
      title: 'Bulk Update Organizations',
    }),
  );
  on('get', '/organizations', (_req, res) =>
    cursorPage(
      res,
      query(res),
      'organizations',
      'organizations',
      [...state.organizations.values()],
      (o) => String(o.id),
      presentOrganization,
    ),
  );
  on('get', '/organizations/:id', (req, res) => {
    const org = state.organizations.get(idParam(req));
    if (!org) throw new HttpError(404, zendeskErrors.notFound());
    send(res, 200, { organization: presentOrganization(org) });
  });
  // An organization's users and tickets (cursor-paged like other lists); 404 for an unknown organization.
  on('get', '/organizations/:id/users', (req, res) => {
    const id = idParam(req);
    if (!state.organizations.has(id)) throw new HttpError(404, zendeskErrors.notFound());
    const users = [...state.users.values()].filter((u) => u.organization_id === id);
    cursorPage(res, query(res), `organizations/${id}/users`, 'users', users, (u) => String(u.id), presentUser);
  });
  on('get', '/organizations/:id/tickets', (req, res) => {
    const id = idParam(req);
    if (!state.organizations.has(id)) throw new HttpError(404, zendeskErrors.notFound());
    const tickets = [...state.tickets.values()].filter((t) => t.organization_id === id);
    cursorPage(
      res,
      query(res),
      `organizations/${id}/tickets`,
      'tickets',
      tickets,
      (t) => String(t.id),
      (t) => t,
    );
  });
  /** PUT /{kind}s/:id and POST /{kind}s with one `{kind}` object: the id in the body is ignored, as Zendesk does. */
  const writeOne = <T>(
    kind: 'organization' | 'user',
    write: (existing: T | undefined, attrs: Json) => T,
    present: (t: T) => unknown,
    byId: (id: number) => T | undefined,
  ) => {
    on('put', `/${kind}s/:id`, (req, res) => {
      const existing = byId(idParam(req));
      if (!existing) throw new HttpError(404, zendeskErrors.notFound());
      send(res, 200, { [kind]: present(write(existing, attrsOf(body(req)[kind], kind))) });
    });
    on(
      'post',
      `/${kind}s`,
      (req, res) => void send(res, 201, { [kind]: present(write(undefined, attrsOf(body(req)[kind], kind))) }),
    );
  };
  const attrsOf = (input: unknown, kind: string): Json => {
    if (!isRecord(input)) throw new HttpError(400, zendeskErrors.invalidValue(`${kind} is required`));
    const { id: _ignored, ...attrs } = input as Json;
    return attrs;
  };
  writeOne<ZendeskOrganization>(
    'organization',
    (e, a) => writeOrganization(e, a).org,
    presentOrganization,
    (id) => state.organizations.get(id),
  );
  // users
  on('get', '/users/show_many', (_req, res) => {
    const q = query(res);
    const found = [
      ...csv(q.get('ids')).map((id) => state.users.get(Number(id))),
      ...csv(q.get('external_ids')).map((e) => userByExternalId(e)),
    ].filter((u): u is ZendeskUser => u !== undefined);
    send(res, 200, listOf('users', found.map(presentUser)));
  });
  on('post', '/users/create_or_update', (req, res) => {
    const input = body(req).user;
    if (!isRecord(input)) throw new HttpError(400, zendeskErrors.invalidValue('user is required'));
    const existing = matchUser(input);
    if (positiveInt(input.id) !== undefined && !existing) throw new HttpError(404, zendeskErrors.notFound());
    const { id: _ignored, ...attrs } = input;
    const { user, created } = writeUser(existing, attrs);
    send(res, created ? 201 : 200, { user: presentUser(user) });
  });
  on('post', '/users/create_or_update_many', (req, res) => {
    const items = bulkItems(body(req).users, 'users');
    const results = items.map((item, index): ZendeskJobResult => {
      const existing = matchUser(item);
      const echoKeys = {
        ...(typeof item.email === 'string' && { email: item.email }),
        ...(typeof item.external_id === 'string' && { external_id: item.external_id }),
      };
      try {
        const { id: _ignored, ...attrs } = item;
        const { user, created } = writeUser(existing, attrs);
        return created
          ? { id: user.id, index, action: 'create', status: 'Created', success: true, ...echoKeys }
          : { id: user.id, index, action: 'update', status: 'Updated', success: true, ...echoKeys };
      } catch (err) {
        return {
          ...failedItem(index, existing ? 'update' : 'create', err, existing?.id),
          ...echoKeys,
          error: existing ? 'UserUpdateError' : 'UserCreateError',
        };
      }
    });
    send(res, 200, jobOf(startJob('Bulk Create Or Update Users', results)));
  });
  on(
    'put',
    '/users/update_many',
    updateMany({
      plural: 'users',
      singular: 'user',
      byId: (id) => state.users.get(id),
      byExternalId: userByExternalId,
      write: writeUser,
      title: 'Bulk Update Users',
    }),
  );
  on('get', '/users/:id/events', (req, res) => {
    const id = idParam(req);
    if (!state.users.has(id)) throw new HttpError(404, zendeskErrors.notFound());
    const events = state.profileEvents.filter((e) => e.user_id === id).map(presentEvent);
    send(res, 200, {
      data: events,
      meta: { has_more: false, after_cursor: null, before_cursor: null },
      links: { next: null, prev: null },
    });
  });
  on('get', '/users', (_req, res) =>
    cursorPage(res, query(res), 'users', 'users', [...state.users.values()], (u) => String(u.id), presentUser),
  );
  on('get', '/users/:id', (req, res) => {
    const user = state.users.get(idParam(req));
    if (!user) throw new HttpError(404, zendeskErrors.notFound());
    send(res, 200, { user: presentUser(user) });
  });
  writeOne<ZendeskUser>(
    'user',
    (e, a) => writeUser(e, a).user,
    presentUser,
    (id) => state.users.get(id),
  );
  // jobs
  on('get', '/job_statuses/show_many', (_req, res) => {
    const ids = csv(query(res).get('ids'));
    if (ids.length === 0) throw new HttpError(400, zendeskErrors.invalidValue('ids is required'));
    if (ids.length > BULK_LIMIT)
      throw new HttpError(400, zendeskErrors.invalidValue(`Too many ids: at most ${BULK_LIMIT} per request`));
    // Unknown (or expired) ids are left out, as Zendesk does.
    send(res, 200, { job_statuses: ids.map(pollJob).filter((j): j is ZendeskJobStatus => j !== undefined) });
  });
  on('get', '/job_statuses/:id', (req, res) => {
    const job = pollJob(param(req, 'id'));
    if (!job) throw new HttpError(404, zendeskErrors.notFound());
    send(res, 200, { job_status: job });
  });

  // organization and user fields
  for (const [path, single, defs] of [
    ['organization_fields', 'organization_field', state.organizationFields],
    ['user_fields', 'user_field', state.userFields],
  ] as const) {
    on('get', `/${path}`, (_req, res) => send(res, 200, listOf(path, defs)));
    on('post', `/${path}`, (req, res) => send(res, 201, { [single]: createField(defs, path, body(req)[single]) }));
    on('get', `/${path}/:id`, (req, res) => {
      const field = defs.find((d) => d.id === positiveInt(param(req, 'id')));
      if (!field) throw new HttpError(404, zendeskErrors.notFound());
      send(res, 200, { [single]: field });
    });
  }

  // custom objects
  on('get', '/custom_objects', (_req, res) => send(res, 200, { custom_objects: [...state.customObjects.values()] }));
  on('post', '/custom_objects', (req, res) =>
    send(res, 201, { custom_object: createCustomObject(body(req).custom_object) }),
  );
  on('get', '/custom_objects/:key', (req, res) => send(res, 200, { custom_object: objectOr404(param(req, 'key')) }));
  on('get', '/custom_objects/:key/fields', (req, res) => {
    objectOr404(param(req, 'key'));
    send(res, 200, { custom_object_fields: state.customObjectFields.get(param(req, 'key')) ?? [] });
  });
  on('post', '/custom_objects/:key/fields', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    let defs = state.customObjectFields.get(key);
    if (!defs) state.customObjectFields.set(key, (defs = []));
    try {
      send(res, 201, {
        custom_object_field: createField(defs, `custom_objects/${key}/fields`, body(req).custom_object_field),
      });
    } catch (err) {
      if (!(err instanceof HttpError) || err.status !== 422) throw err;
      const body422 = err.body as { details?: Details };
      const detail = Object.values(body422.details ?? {})
        .flat()
        .map((d) => d.description)
        .join('; ');
      throw recordInvalid(detail || 'Record validation errors');
    }
  });
  on('get', '/custom_objects/:key/records', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const q = query(res);
    // The API filters with filter[external_ids]/filter[ids]; a plain external_id is accepted as a one-item filter.
    const externalIds = new Set([...csv(q.get('filter[external_ids]')), ...csv(q.get('external_id'))]);
    const ids = new Set(csv(q.get('filter[ids]')));
    const endUser = res.locals.endUser as ZendeskUser | undefined;
    const readable = (r: ZendeskCustomObjectRecord) =>
      !endUser ||
      endUserMayRead(
        accessOf(key).policies.get('end-user') ?? closedPolicy('end-user'),
        accessOf(key).rules,
        state.customObjectFields.get(key) ?? [],
        r.custom_object_fields,
        endUser,
      );
    const all = [...recordsOf(key).values()].filter(
      (r) =>
        (externalIds.size === 0 || (r.external_id !== null && externalIds.has(r.external_id))) &&
        (ids.size === 0 || ids.has(r.id)) &&
        readable(r),
    );
    cursorPage(
      res,
      q,
      `custom_objects/${key}/records`,
      'custom_object_records',
      all,
      (r) => r.id,
      (r) => r,
    );
  });
  on('get', '/custom_objects/:key/records/:id', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const record = recordBy(key, { id: param(req, 'id') });
    const endUser = res.locals.endUser as ZendeskUser | undefined;
    const policy = accessOf(key).policies.get('end-user') ?? closedPolicy('end-user');
    // A record the end user may not read is not found, as if it did not exist.
    if (
      !record ||
      (endUser &&
        !endUserMayRead(
          policy,
          accessOf(key).rules,
          state.customObjectFields.get(key) ?? [],
          record.custom_object_fields,
          endUser,
        ))
    )
      throw recordNotFound();
    send(res, 200, { custom_object_record: record });
  });
  on('post', '/custom_objects/:key/records', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const { record } = writeRecord(key, undefined, body(req).custom_object_record);
    send(res, 201, { custom_object_record: record });
  });
  on('patch', '/custom_objects/:key/records', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const externalId = query(res).get('external_id');
    if (!externalId)
      throw new HttpError(400, zendeskErrors.errorsList(400, 'InvalidParameter', 'external_id is required'));
    const { record, created } = writeRecord(
      key,
      recordBy(key, { externalId }),
      body(req).custom_object_record,
      externalId,
    );
    send(res, created ? 201 : 200, { custom_object_record: record });
  });
  on('patch', '/custom_objects/:key/records/:id', (req, res) => {
    const key = param(req, 'key');
    const id = param(req, 'id');
    objectOr404(key);
    const existing = recordBy(key, { id });
    if (!existing) throw recordNotFound();
    send(res, 200, { custom_object_record: writeRecord(key, existing, body(req).custom_object_record).record });
  });
  on('delete', '/custom_objects/:key/records', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const externalId = query(res).get('external_id');
    const record = externalId ? recordBy(key, { externalId }) : undefined;
    if (!record) throw recordNotFound();
    deleteRecord(key, record);
    send(res, 204, undefined);
  });
  on('delete', '/custom_objects/:key/records/:id', (req, res) => {
    const key = param(req, 'key');
    const id = param(req, 'id');
    objectOr404(key);
    const record = recordBy(key, { id });
    if (!record) throw recordNotFound();
    deleteRecord(key, record);
    send(res, 204, undefined);
  });
  // record-level permissions: access rules and permission policies
  const accessProblems = (problems: Problems) =>
    invalid(
      Object.fromEntries(
        Object.entries(problems).map(([field, description]) => [field, [{ description, error: 'InvalidValue' }]]),
      ),
    );
  on('get', '/custom_objects/:key/access_rules', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    send(res, 200, { access_rules: accessOf(key).rules });
  });
  on('post', '/custom_objects/:key/access_rules', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const access = accessOf(key);
    const { rule, problems } = parseAccessRule(
      body(req).access_rule,
      state.customObjectFields.get(key) ?? [],
      access.rules.length,
    );
    if (!rule) throw accessProblems(problems);
    const time = stamp();
    const created: AccessRule = {
      id: 25000000000000 + ++sequences.record,
      ...rule,
      created_at: time,
      updated_at: time,
    };
    access.rules.push(created);
    send(res, 201, { access_rule: created });
  });
  on('get', '/custom_objects/:key/access_rules/:id', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const rule = accessOf(key).rules.find((r) => r.id === positiveInt(param(req, 'id')));
    if (!rule) throw new HttpError(404, zendeskErrors.errorsList(404, 'NotFound', 'Access rule not found'));
    send(res, 200, { access_rule: rule });
  });
  on('get', '/custom_objects/:key/permission_policies/:id', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const id = param(req, 'id');
    if (!isPolicyId(id))
      throw new HttpError(404, zendeskErrors.errorsList(404, 'NotFound', 'Permission policy not found'));
    send(res, 200, { policy: accessOf(key).policies.get(id) ?? closedPolicy(id) });
  });
  on('patch', '/custom_objects/:key/permission_policies/:id', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const id = param(req, 'id');
    if (!isPolicyId(id))
      throw new HttpError(404, zendeskErrors.errorsList(404, 'NotFound', 'Permission policy not found'));
    const access = accessOf(key);
    const { policy, problems } = patchPolicy(
      access.policies.get(id) ?? closedPolicy(id),
      body(req),
      new Set(access.rules.map((r) => r.id)),
    );
    if (!policy) throw accessProblems(problems);
    access.policies.set(id, policy);
    send(res, 200, { policy });
  });

  on('post', '/custom_objects/:key/jobs', (req, res) => {
    const key = param(req, 'key');
    objectOr404(key);
    const job = body(req).job;
    const action = isRecord(job) ? job.action : undefined;
    const items = isRecord(job) ? job.items : undefined;
    if (!Array.isArray(items) || items.length === 0) throw recordInvalid('job.items must be a non-empty array');
    if (items.length > BULK_LIMIT) throw recordInvalid(`job.items: at most ${BULK_LIMIT} per job`);
    const one = (item: unknown, index: number): ZendeskJobResult => {
      const r = isRecord(item) ? item : {};
      try {
        switch (action) {
          case 'create': {
            const { record } = writeRecord(key, undefined, r);
            return {
              id: record.id,
              index,
              action: 'create',
              status: 'Created',
              success: true,
              ...(record.external_id && { external_id: record.external_id }),
            };
          }
          case 'update': {
            const existing = typeof r.id === 'string' ? recordBy(key, { id: r.id }) : undefined;
            if (!existing) throw recordNotFound();
            writeRecord(key, existing, r);
            return { id: existing.id, index, action: 'update', status: 'Updated', success: true };
          }
          case 'create_or_update_by_external_id': {
            const externalId = typeof r.external_id === 'string' && r.external_id ? r.external_id : undefined;
            if (!externalId) throw recordInvalid('external_id is required');
            const { record, created } = writeRecord(key, recordBy(key, { externalId }), r, externalId);
            return {
              id: record.id,
              index,
              action: created ? 'create' : 'update',
              status: created ? 'Created' : 'Updated',
              success: true,
              external_id: externalId,
            };
          }
          case 'delete':
          case 'delete_by_external_id': {
            const ref = typeof item === 'string' ? item : String(r.id ?? r.external_id ?? '');
            const existing = action === 'delete' ? recordBy(key, { id: ref }) : recordBy(key, { externalId: ref });
            if (!existing) throw recordNotFound();
            deleteRecord(key, existing);
            return { id: existing.id, index, action: 'delete', status: 'Deleted', success: true };
          }
          default:
            throw recordInvalid(`job.action ${String(action)} is not supported`);
        }
      } catch (err) {
        const detail =
          err instanceof HttpError &&
          isRecord(err.body) &&
          Array.isArray(err.body.errors) &&
          isRecord(err.body.errors[0])
            ? String(err.body.errors[0].detail)
            : String(err);
        const code =
          err instanceof HttpError &&
          isRecord(err.body) &&
          Array.isArray(err.body.errors) &&
          isRecord(err.body.errors[0])
            ? String(err.body.errors[0].code)
            : 'RecordInvalid';
        return {
          index,
          action: String(action),
          status: 'Failed',
          success: false,
          error: code,
          details: detail,
          ...(typeof r.external_id === 'string' && { external_id: r.external_id }),
        };
      }
    };
    const knownActions = ['create', 'update', 'create_or_update_by_external_id', 'delete', 'delete_by_external_id'];
    if (typeof action !== 'string' || !knownActions.includes(action))
      throw recordInvalid(`job.action must be one of ${knownActions.join(', ')}`);
    send(res, 200, jobOf(startJob('Custom Object Record Bulk Job', items.map(one))));
  });

  // user profile events
  on('post', '/user_profiles/events', (req, res) => {
    const { profile, event } = body(req);
    const identifiers =
      isRecord(profile) && Array.isArray(profile.identifiers) ? profile.identifiers.filter(isRecord) : [];
    const problems = [
      !isRecord(profile) && 'profile is required',
      isRecord(profile) && (typeof profile.source !== 'string' || !profile.source) && 'profile.source is required',
      isRecord(profile) && (typeof profile.type !== 'string' || !profile.type) && 'profile.type is required',
      isRecord(profile) && identifiers.length === 0 && 'profile.identifiers must have at least one identifier',
      !isRecord(event) && 'event is required',
      isRecord(event) && (typeof event.source !== 'string' || !event.source) && 'event.source is required',
      isRecord(event) && (typeof event.type !== 'string' || !event.type) && 'event.type is required',
      isRecord(event) && !isRecord(event.properties) && 'event.properties must be an object',
    ].filter((p): p is string => typeof p === 'string');
    if (problems.length > 0 || !isRecord(profile) || !isRecord(event)) {
      throw new HttpError(400, zendeskErrors.errorsList(400, 'InvalidRequest', problems.join('; ')));
    }
    // A profile belongs to a Zendesk user: matched by email or external_id, or created (as Zendesk does).
    const ids = identifiers.map((i) => ({ type: String(i.type ?? ''), value: String(i.value ?? '') }));
    const email = ids.find((i) => i.type === 'email')?.value;
    const externalId = ids.find((i) => i.type === 'external_id')?.value;
    let user = (email ? userByEmail(email) : undefined) ?? (externalId ? userByExternalId(externalId) : undefined);
    if (!user) {
      const name =
        typeof profile.name === 'string' && profile.name
          ? profile.name
          : (email ?? externalId ?? `${profile.source} user`);
      user = writeUser(undefined, {
        name,
        ...(email && { email }),
        ...(!email && externalId && { external_id: externalId }),
      }).user;
    }
    const receivedAt = stamp();
    const source = String(profile.source);
    const type = String(profile.type);
    let filedUnder = profileMatching(source, type, ids);
    if (filedUnder) {
      for (const i of ids)
        if (!filedUnder.identifiers.some((j) => sameIdentifier(i, j))) filedUnder.identifiers.push(i);
      filedUnder.updated_at = receivedAt;
    } else {
      filedUnder = {
        id: `01STANDINPRF${String(++sequences.profile).padStart(14, '0')}`,
        user_id: user.id,
        source,
        type,
        ...(typeof profile.name === 'string' && profile.name && { name: profile.name }),
        identifiers: ids.map((i) => ({ ...i })),
        attributes: isRecord(profile.attributes) ? (profile.attributes as Json) : {},
        created_at: receivedAt,
        updated_at: receivedAt,
      };
      state.profiles.set(filedUnder.id, filedUnder);
    }
    state.profileEvents.push({
      id: `01STANDINEVT${String(++sequences.event).padStart(14, '0')}`,
      profile_id: filedUnder.id,
      user_id: user.id,
      received_at: receivedAt,
      profile: { ...profile, source: String(profile.source), type: String(profile.type), identifiers: ids },
      event: {
        ...event,
        source: String(event.source),
        type: String(event.type),
        properties: event.properties as Json,
        created_at: typeof event.created_at === 'string' ? event.created_at : receivedAt,
      },
    });
    send(res, 202, { status: 'received' });
  });
  on('get', '/user_profiles/events', (_req, res) => {
    const parsed = parseIdentifierQuery(query(res).get('identifier') ?? '');
    if (!parsed)
      throw new HttpError(
        400,
        zendeskErrors.errorsList(400, 'InvalidRequest', 'identifier is required, e.g. email:jane@example.com'),
      );
    const wanted = parsed.idType === 'email' ? parsed.value.toLowerCase() : parsed.value;
    const events = state.profileEvents.filter(
      (e) =>
        (parsed.source === undefined || e.profile.source === parsed.source) &&
        (parsed.type === undefined || e.profile.type === parsed.type) &&
        e.profile.identifiers.some(
          (i) => i.type === parsed.idType && (i.type === 'email' ? i.value.toLowerCase() : i.value) === wanted,
        ),
    );
    send(res, 200, {
      data: events.map(presentEvent),
      meta: { has_more: false, after_cursor: null, before_cursor: null },
      links: { next: null, prev: null },
    });
  });
  // profiles: by identifier query (all four parts), by id, by user; DELETE takes the profile's events with it
  on('get', '/user_profiles', (_req, res) => {
    const parsed = parseIdentifierQuery(query(res).get('identifier') ?? '');
    if (!parsed || parsed.source === undefined || parsed.type === undefined || !parsed.idType || !parsed.value) {
      throw new HttpError(
        400,
        zendeskErrors.errorsList(
          400,
          'InvalidRequest',
          'identifier must be <source>:<type>:<identifier_type>:<identifier_value>',
        ),
      );
    }
    const found = profileMatching(parsed.source, parsed.type, [{ type: parsed.idType, value: parsed.value }]);
    if (!found) throw profileNotFound();
    send(res, 200, { profile: presentProfile(found) });
  });
  on('get', '/user_profiles/:id', (req, res) => {
    const found = state.profiles.get(param(req, 'id'));
    if (!found) throw profileNotFound();
    send(res, 200, { profile: presentProfile(found) });
  });
  on('delete', '/user_profiles/:id', (req, res) => {
    const id = param(req, 'id');
    if (!state.profiles.delete(id)) throw profileNotFound();
    state.profileEvents = state.profileEvents.filter((e) => e.profile_id !== id);
    send(res, 204, undefined);
  });
  on('get', '/users/:id/profiles', (req, res) => {
    const id = idParam(req);
    if (!state.users.has(id)) throw new HttpError(404, zendeskErrors.notFound());
    send(res, 200, { profiles: [...state.profiles.values()].filter((p) => p.user_id === id).map(presentProfile) });
  });

  // tickets
  on('get', '/tickets/show_many', (_req, res) => {
    const found = csv(query(res).get('ids'))
      .map((id) => state.tickets.get(Number(id)))
      .filter((t): t is ZendeskTicket => t !== undefined && t.status !== 'deleted');
    send(res, 200, listOf('tickets', found));
  });
  // brands (zendesk-brands.ts): offset pagination, or cursor pagination when page[size] is given
  on('get', '/brands', (_req, res) => {
    const q = query(res);
    const all = brandBook.listed();
    if (q.has('page[size]'))
      return cursorPage(
        res,
        q,
        'brands',
        'brands',
        all,
        (b) => String(b.id),
        (b) => b,
      );
    send(res, 200, listOf('brands', all));
  });
  on('get', '/brands/:id', (req, res) => {
    const brand = state.brands.get(idParam(req));
    if (!brand || brand.is_deleted) throw new HttpError(404, zendeskErrors.notFound());
    send(res, 200, { brand });
  });
  on('get', '/tickets/:id', (req, res) => {
    const ticket = state.tickets.get(idParam(req));
    if (!ticket || ticket.status === 'deleted') throw new HttpError(404, zendeskErrors.notFound());
    send(res, 200, { ticket });
  });
  on('put', '/tickets/:id', (req, res) => {
    const ticket = state.tickets.get(idParam(req));
    if (!ticket || ticket.status === 'deleted') throw new HttpError(404, zendeskErrors.notFound());
    const input = body(req).ticket;
    if (!isRecord(input)) throw new HttpError(400, zendeskErrors.invalidValue('ticket is required'));
    updateTicket(ticket, input);
    send(res, 200, {
      ticket,
      audit: { id: ++sequences.audit, ticket_id: ticket.id, created_at: ticket.updated_at, author_id: 1, events: [] },
    });
  });

  // incremental exports
  on('get', '/incremental/tickets/cursor', (_req, res) =>
    cursorExport(
      res,
      query(res),
      'incremental/tickets/cursor',
      'tickets',
      state.tickets,
      (t) => t.generated_timestamp,
      (t) => t,
    ),
  );
  on('get', '/incremental/users/cursor', (_req, res) =>
    cursorExport(res, query(res), 'incremental/users/cursor', 'users', state.users, updatedTs, presentUser),
  );
  on('get', '/incremental/users', (_req, res) =>
    timeExport(res, query(res), 'incremental/users', 'users', state.users, presentUser),
  );
  on('get', '/incremental/organizations', (_req, res) =>
    timeExport(res, query(res), 'incremental/organizations', 'organizations', state.organizations, presentOrganization),
  );

  app.use((_req: Request, res: Response) => send(res, 404, zendeskErrors.invalidEndpoint()));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpError) return send(res, err.status, err.body);
    if (isRecord(err) && err.type === 'entity.parse.failed')
      return send(res, 400, zendeskErrors.invalidValue('Request body is not valid JSON'));
    send(res, 500, { error: 'InternalError', description: err instanceof Error ? err.message : String(err) });
  });

  const listening = await listenOnLoopback(app);
  baseUrl = `${listening.origin}/api/v2`;
  helpCenter.issuer = listening.origin;

  return {
    baseUrl,
    origin: listening.origin,
    helpCenter,
    theme,
    credentials,
    state,
    calls,
    webhookDeliveries,
    setFaults: (next) => faults.set(next),
    failNext: (n, status, failureBody) =>
      failures.arm(n, status, failureBody === undefined ? defaultFailureBody(status) : failureBody),
    seedOrganization: (input = {}) => {
      const time = input.updated_at ?? input.created_at ?? stamp();
      const id = nextId('organization', input.id);
      const org: ZendeskOrganization = {
        url: `${baseUrl}/organizations/${id}.json`,
        name: `Organization ${id}`,
        external_id: null,
        shared_tickets: false,
        shared_comments: false,
        domain_names: [],
        details: null,
        notes: null,
        group_id: null,
        tags: [],
        created_at: input.created_at ?? time,
        ...structuredClone(input),
        organization_fields: { ...input.organization_fields },
        id,
        updated_at: time,
      };
      state.organizations.set(id, org);
      return org;
    },
    seedUser: (input = {}) => {
      const time = input.updated_at ?? input.created_at ?? stamp();
      const id = nextId('user', input.id);
      const user: ZendeskUser = {
        url: `${baseUrl}/users/${id}.json`,
        name: `User ${id}`,
        email: null,
        external_id: null,
        organization_id: null,
        role: 'end-user',
        active: true,
        verified: true,
        suspended: false,
        locale: 'en-US',
        time_zone: 'Eastern Time (US & Canada)',
        phone: null,
        details: null,
        notes: null,
        default_group_id: null,
        tags: [],
        created_at: input.created_at ?? time,
        ...structuredClone(input),
        user_fields: { ...input.user_fields },
        id,
        updated_at: time,
      };
      state.users.set(id, user);
      return user;
    },
    seedBrand: (input) => brandBook.seed(structuredClone(input)),
    seedTicket: (input = {}) => {
      const ticket = newTicket(structuredClone(input));
      state.tickets.set(ticket.id, ticket);
      return ticket;
    },
    seedField: (scope, input) =>
      createField(
        scope === 'organization' ? state.organizationFields : state.userFields,
        `${scope}_fields`,
        input.title ? input : { ...input, title: input.key },
      ),
    seedCustomObject: (key, input = {}) => {
      const title = input.title ?? key;
      const object = state.customObjects.get(key) ?? createCustomObject({ key, title, title_pluralized: `${title}s` });
      const defs = state.customObjectFields.get(key) ?? [];
      for (const f of input.fields ?? [])
        createField(defs, `custom_objects/${key}/fields`, { ...f, title: f.title ?? f.key });
      state.customObjectFields.set(key, defs);
      return object;
    },
    signIn: (userId) => {
      if (!state.users.has(userId)) throw new Error(`no user ${userId} in the Zendesk stand-in`);
      return `${STANDIN_USER_COOKIE}=${userId}`;
    },
    flushWebhooks: async () => {
      // Echoes are queued when a response finishes; let those events fire, then wait until the chain is still.
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve));
        const chain = deliveryChain;
        await chain;
        if (chain === deliveryChain) return;
      }
    },
    close: async () => {
      for (const res of hung) res.socket?.destroy();
      abort.abort();
      await listening.close();
      await deliveryChain;
    },
  };
}
