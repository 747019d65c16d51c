/** The Zendesk stand-in's writes to organizations and users: applied to a copy, validated with Zendesk's RecordInvalid details, then committed with their echoes. */
import { blank, invalid, isRecord, lower, positiveInt, same, taken, type Json } from './render.js';
import type { ZendeskEchoes } from './echoes.js';
import type { ZendeskStore } from './store.js';
import type { ZendeskOrganization, ZendeskUser } from './types.js';

/** An organization with Zendesk's defaults, before its input: what a create starts from (and seeding, seed.ts). */
export const blankOrganization = (time: string): ZendeskOrganization => ({
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
});

/** A user with Zendesk's defaults, before its input (an API-created user is not verified). */
export const blankUser = (time: string): ZendeskUser => ({
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
});

/**
 * Custom field values of the keys an account defines; any other key is dropped without an error, as Zendesk's
 * permissive REST API does (a 200 whose object simply lacks it). A push to a field `setup zendesk` never
 * provisioned therefore lands nowhere, as it would in Zendesk.
 */
function definedFields(values: Json, defined: readonly { key: string }[]): Json {
  const keys = new Set(defined.map((f) => f.key));
  return Object.fromEntries(Object.entries(values).filter(([k]) => keys.has(k)));
}

function applyOrganizationInput(draft: ZendeskOrganization, input: Json, defined: readonly { key: string }[]): void {
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
    Object.assign(draft.organization_fields, definedFields(input.organization_fields, defined));
  }
}

function applyUserInput(draft: ZendeskUser, input: Json, defined: readonly { key: string }[]): void {
  if ('name' in input) draft.name = typeof input.name === 'string' ? input.name.trim() : '';
  if ('email' in input) draft.email = typeof input.email === 'string' && input.email.trim() ? input.email.trim() : null;
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
    Object.assign(draft.user_fields, definedFields(input.user_fields, defined));
  }
}

export class ZendeskWrites {
  constructor(
    private readonly store: ZendeskStore,
    private readonly echoes: ZendeskEchoes,
  ) {}

  /** Stores a validated draft: changes `existing` in place (echoing a real change) or files it under a new id. */
  private commit<T extends { id: number; url: string; updated_at: string }>(
    kind: 'organization' | 'user',
    collection: Map<number, T>,
    echo: (before: T | null, after: T) => void,
    existing: T | undefined,
    draft: T,
    time: string,
  ): { stored: T; created: boolean; changed: boolean } {
    if (existing) {
      const changed = !same(existing, draft);
      if (changed) {
        const before = structuredClone(existing);
        Object.assign(existing, draft, { updated_at: time });
        echo(before, existing);
      }
      return { stored: existing, created: false, changed };
    }
    draft.id = this.store.nextId(kind);
    draft.url = `${this.store.baseUrl}/${kind}s/${draft.id}.json`;
    collection.set(draft.id, draft);
    echo(null, draft);
    return { stored: draft, created: true, changed: true };
  }

  organization = (
    existing: ZendeskOrganization | undefined,
    input: Json,
  ): { org: ZendeskOrganization; created: boolean; changed: boolean } => {
    const { state } = this.store;
    const time = this.store.stamp();
    const draft: ZendeskOrganization = existing ? structuredClone(existing) : blankOrganization(time);
    applyOrganizationInput(draft, input, state.organizationFields);
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
    const { stored, created, changed } = this.commit(
      'organization',
      state.organizations,
      this.echoes.organization,
      existing,
      draft,
      time,
    );
    return { org: stored, created, changed };
  };

  user = (
    existing: ZendeskUser | undefined,
    input: Json,
  ): { user: ZendeskUser; created: boolean; changed: boolean } => {
    const { state } = this.store;
    const time = this.store.stamp();
    const draft: ZendeskUser = existing ? structuredClone(existing) : blankUser(time);
    applyUserInput(draft, input, state.userFields);
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
    const { stored, created, changed } = this.commit('user', state.users, this.echoes.user, existing, draft, time);
    return { user: stored, created, changed };
  };
}
