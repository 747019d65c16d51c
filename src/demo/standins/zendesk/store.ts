/** The Zendesk stand-in's data: its state, Zendesk-like ids, lookups by external id and email, objects as the API presents them, and field definitions. */
import { createBrandBook, type BrandBook } from './brands.js';
import {
  FIELD_TYPES,
  blank,
  invalid,
  isRecord,
  iso,
  lower,
  positiveInt,
  taken,
  type Details,
  type Json,
} from './render.js';
import type { ZendeskFieldDefinition, ZendeskOrganization, ZendeskState, ZendeskUser } from './types.js';

export class ZendeskStore {
  readonly state: ZendeskState = {
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
  // Ids look like Zendesk's: large for organizations/users/fields, small for tickets.
  readonly sequences = {
    organization: 7000000000000,
    user: 8000000000000,
    ticket: 0,
    field: 360000000000,
    record: 0,
    event: 0,
    profile: 0,
    audit: 0,
  };
  /** `<origin>/api/v2`, known once listening; urls inside objects use it. */
  baseUrl = '';
  readonly brandBook: BrandBook;

  constructor(readonly now: () => number) {
    this.brandBook = createBrandBook(
      () => this.baseUrl,
      () => this.stamp(),
    );
    this.state.brands = this.brandBook.brands;
  }

  nextId(kind: 'organization' | 'user' | 'ticket' | 'field', wanted?: number): number {
    const id = wanted ?? this.sequences[kind] + 1;
    this.sequences[kind] = Math.max(this.sequences[kind], id);
    return id;
  }

  stamp(): string {
    return iso(this.now());
  }

  // --- lookups and presentation (arrow properties: routes pass them as callbacks) ----------

  organizationByExternalId = (externalId: string): ZendeskOrganization | undefined => {
    const wanted = externalId.toLowerCase(); // Zendesk: external ids are case-insensitive
    return [...this.state.organizations.values()].find((o) => lower(o.external_id) === wanted);
  };
  presentOrganization = (o: ZendeskOrganization) => ({
    ...o,
    organization_fields: {
      ...Object.fromEntries(this.state.organizationFields.map((f) => [f.key, null])),
      ...o.organization_fields,
    },
  });

  userByEmail = (email: string): ZendeskUser | undefined =>
    [...this.state.users.values()].find((u) => lower(u.email) === email.toLowerCase());
  userByExternalId = (externalId: string): ZendeskUser | undefined =>
    [...this.state.users.values()].find((u) => lower(u.external_id) === externalId.toLowerCase());
  presentUser = (u: ZendeskUser) => ({
    ...u,
    user_fields: { ...Object.fromEntries(this.state.userFields.map((f) => [f.key, null])), ...u.user_fields },
  });
  /** create_or_update matches on id, then external_id, then email. */
  matchUser(input: Json): ZendeskUser | undefined {
    const id = positiveInt(input.id);
    if (id !== undefined) return this.state.users.get(id);
    const byExternal =
      typeof input.external_id === 'string' && input.external_id ? this.userByExternalId(input.external_id) : undefined;
    return byExternal ?? (typeof input.email === 'string' && input.email ? this.userByEmail(input.email) : undefined);
  }

  // --- fields ------------------------------------------------------------------------------

  createField(defs: ZendeskFieldDefinition[], urlBase: string, input: unknown): ZendeskFieldDefinition {
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
    const time = this.stamp();
    const id = this.nextId('field');
    const description = typeof f.description === 'string' ? f.description : '';
    const field: ZendeskFieldDefinition = {
      url: `${this.baseUrl}/${urlBase}/${id}.json`,
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
  }
}
