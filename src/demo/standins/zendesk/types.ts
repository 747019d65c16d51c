/** The Zendesk stand-in's wire shapes (organizations, users, tickets, fields, custom objects, profiles, jobs) and its public types: options, call log, the handle a test drives. */
import { type FaultKind, type FaultOptions, type RateWindow } from '../common.js';
import { type HelpCenterStandIn } from './help-center.js';
import { type ThemeStandIn } from './theme.js';
import { type BrandInput, type ZendeskBrand } from './brands.js';
import { type AccessRule, type PermissionPolicy } from './access.js';

// ---------------------------------------------------------------------------------------------
// Wire shapes
// ---------------------------------------------------------------------------------------------

type FieldValues = Record<string, unknown>;

export interface ZendeskOrganization {
  url: string;
  id: number;
  name: string;
  external_id: string | null;
  shared_tickets: boolean;
  shared_comments: boolean;
  domain_names: string[];
  details: string | null;
  notes: string | null;
  group_id: number | null;
  tags: string[];
  /** Only the values ever set; API answers also list defined fields that are unset, as null. */
  organization_fields: FieldValues;
  created_at: string;
  updated_at: string;
}

export interface ZendeskUser {
  url: string;
  id: number;
  name: string;
  email: string | null;
  external_id: string | null;
  organization_id: number | null;
  role: string;
  active: boolean;
  verified: boolean;
  suspended: boolean;
  locale: string;
  time_zone: string;
  phone: string | null;
  details: string | null;
  notes: string | null;
  default_group_id: number | null;
  tags: string[];
  /** Only the values ever set; API answers also list defined fields that are unset, as null. */
  user_fields: FieldValues;
  created_at: string;
  updated_at: string;
}

export type ZendeskTicketStatus = 'new' | 'open' | 'pending' | 'hold' | 'solved' | 'closed' | 'deleted';

export interface ZendeskTicket {
  url: string;
  id: number;
  external_id: string | null;
  subject: string;
  raw_subject: string;
  description: string;
  status: ZendeskTicketStatus;
  priority: string | null;
  type: string | null;
  requester_id: number | null;
  submitter_id: number | null;
  assignee_id: number | null;
  organization_id: number | null;
  group_id: number | null;
  ticket_form_id: number | null;
  brand_id: number | null;
  tags: string[];
  custom_fields: { id: number; value: unknown }[];
  via: { channel: string };
  is_public: boolean;
  created_at: string;
  updated_at: string;
  /** Unix seconds of the last change, what the incremental ticket export orders by. */
  generated_timestamp: number;
}

export interface ZendeskFieldDefinition {
  url: string;
  id: number;
  key: string;
  type: string;
  title: string;
  raw_title: string;
  description: string;
  raw_description: string;
  position: number;
  active: boolean;
  system: boolean;
  regexp_for_validation: string | null;
  custom_field_options?: { id: number; name: string; raw_name: string; value: string }[];
  /** Lookup fields: what the id points at (`zen:organization`, `zen:user`, `zen:custom_object:<key>`…). */
  relationship_target_type?: string;
  created_at: string;
  updated_at: string;
}

export interface ZendeskCustomObject {
  url: string;
  key: string;
  title: string;
  raw_title: string;
  title_pluralized: string;
  raw_title_pluralized: string;
  description: string | null;
  raw_description: string | null;
  include_in_list_view: boolean;
  allows_photos: boolean;
  created_by_user_id: string;
  updated_by_user_id: string;
  created_at: string;
  updated_at: string;
}

type ZendeskCustomObjectField = ZendeskFieldDefinition;

export interface ZendeskCustomObjectRecord {
  url: string;
  id: string;
  name: string;
  external_id: string | null;
  custom_object_key: string;
  custom_object_fields: FieldValues;
  created_by_user_id: string;
  updated_by_user_id: string;
  created_at: string;
  updated_at: string;
  photo: null;
}

export interface ZendeskProfileIdentifier {
  type: string;
  value: string;
}

/**
 * A profile (Profiles API): one per source, type and identifier, belonging to a Zendesk user. Events are
 * filed under one, and deleting it is the only way to delete them (DELETE /user_profiles/{id}).
 */
export interface ZendeskProfile {
  /** ULID-like, as Zendesk's. */
  id: string;
  user_id: number;
  source: string;
  type: string;
  name?: string;
  identifiers: ZendeskProfileIdentifier[];
  attributes: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** One POST /user_profiles/events, as sent, plus what Zendesk assigns. */
export interface ZendeskProfileEvent {
  id: string;
  /** The profile it was filed under (found by source, type and identifier, or created). */
  profile_id: string;
  /** The Zendesk user the profile resolved to (created when no user matched, as Zendesk does). */
  user_id: number;
  received_at: string;
  profile: { source: string; type: string; identifiers: ZendeskProfileIdentifier[]; [k: string]: unknown };
  event: {
    source: string;
    type: string;
    description?: string;
    properties: Record<string, unknown>;
    created_at: string;
    [k: string]: unknown;
  };
}

export interface ZendeskJobResult {
  id?: number | string;
  index: number;
  action: string;
  status: 'Created' | 'Updated' | 'Deleted' | 'Failed';
  success: boolean;
  email?: string;
  external_id?: string;
  error?: string;
  details?: string;
}

export interface ZendeskJobStatus {
  id: string;
  url: string;
  job_type: string;
  total: number;
  progress: number | null;
  status: 'queued' | 'working' | 'completed' | 'failed' | 'killed';
  message: string | null;
  results: ZendeskJobResult[] | null;
}

export interface ZendeskState {
  organizations: Map<number, ZendeskOrganization>;
  users: Map<number, ZendeskUser>;
  tickets: Map<number, ZendeskTicket>;
  /** Brands by id (brands.ts); empty unless seeded, and then tickets get the default brand. */
  brands: Map<number, ZendeskBrand>;
  organizationFields: ZendeskFieldDefinition[];
  userFields: ZendeskFieldDefinition[];
  customObjects: Map<string, ZendeskCustomObject>;
  customObjectFields: Map<string, ZendeskCustomObjectField[]>;
  /** custom object key → (external_id, or the record id when it has none) → record. */
  customObjectRecords: Map<string, Map<string, ZendeskCustomObjectRecord>>;
  /** Profiles by id; deleting one deletes its events from profileEvents. */
  profiles: Map<string, ZendeskProfile>;
  profileEvents: ZendeskProfileEvent[];
  /** What the last poll (or the submission) reported for each job. */
  jobStatuses: Map<string, ZendeskJobStatus>;
  /** custom object key → its access rules and permission policies (record-level permissions). */
  customObjectAccess: Map<string, { rules: AccessRule[]; policies: Map<string, PermissionPolicy> }>;
}

export interface ZendeskCall {
  method: string;
  /** Under the API root, `.json` and query removed: `/organizations/update_many`. */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  /** 0 while pending, and for a reset or hung call. */
  status: number;
  at: number;
  fault?: FaultKind | 'failNext';
}

export interface ZendeskWebhookDelivery {
  id: string;
  type: string;
  subject: string;
  body: string;
  /** The receiver's HTTP status; undefined if it could not be reached (see error). */
  status?: number;
  error?: string;
}

export type ZendeskEchoEvent =
  | 'organization.created'
  | 'organization.custom_field_changed'
  | 'organization.name_changed'
  | 'organization.external_id_changed'
  | 'organization.tags_changed'
  | 'user.created'
  | 'user.custom_field_changed'
  | 'user.name_changed'
  | 'user.external_id_changed'
  | 'user.tags_changed'
  | 'user.role_changed';

export interface ZendeskStandInOptions {
  /** Enforced account rate limit. Without it, headers report 700/min and nothing is refused. */
  rate?: RateWindow;
  /** That fraction of calls (seeded, so reproducible) answer 500/503, reset the socket, or hang. */
  faults?: FaultOptions;
  /** Echo every organization/user write as the event-subscribed webhook Zendesk would send. */
  webhook?: {
    url: string;
    secret: string;
    /** Event types the webhook subscribes to (without `zen:event-type:`); default: all echoed types. */
    subscriptions?: ZendeskEchoEvent[];
    webhookId?: string;
  };
  /** Only these credentials pass; by default any `email/token:apitoken` pair does. */
  auth?: { email: string; token: string };
  /** Poll of GET /job_statuses/{id} that first reports `completed` (default 1: the first; 2 shows `working` once). */
  jobPollsUntilComplete?: number;
  /** Incremental exports leave out changes younger than this (default 60 s, as Zendesk does; 0 for none). */
  exportLagSeconds?: number;
  accountId?: number;
  /** Clock for timestamps, exports and the rate window (default Date.now). */
  now?: () => number;
}

export interface ZendeskStandIn {
  /** `http://127.0.0.1:PORT/api/v2`: ZENDESK_BASE_URL, node-zendesk's endpointUri. */
  baseUrl: string;
  origin: string;
  /** Help center JWTs: the keys and token endpoints, and controls for tests (src/demo/standins/zendesk/help-center.ts). */
  helpCenter: HelpCenterStandIn;
  /** Help center pages: the Help Center kit's theme files, on this origin (src/demo/standins/zendesk/theme.ts). */
  theme: ThemeStandIn;
  /** Credentials that pass auth (the configured ones, or a default pair). */
  credentials: { email: string; token: string };
  state: ZendeskState;
  calls: ZendeskCall[];
  webhookDeliveries: ZendeskWebhookDelivery[];
  setFaults(faults: FaultOptions | null): void;
  /**
   * The next n write calls (POST/PUT/PATCH/DELETE) answer `status` with `body` (default: Zendesk's body for it);
   * with `match`, only calls whose line (`METHOD /path?query`, path under /api/v2, no `.json`) it matches.
   */
  failNext(n: number, status: number, body?: unknown, match?: RegExp): void;
  seedOrganization(input?: Partial<ZendeskOrganization>): ZendeskOrganization;
  seedUser(input?: Partial<ZendeskUser>): ZendeskUser;
  seedTicket(input?: Partial<ZendeskTicket>): ZendeskTicket;
  /** A brand (the first seeded is the default one); a Help Center at `<subdomain>.zendesk.com` and at its host_mapping. */
  seedBrand(input: BrandInput): ZendeskBrand;
  seedField(
    scope: 'organization' | 'user',
    input: { key: string; type: string; title?: string },
  ): ZendeskFieldDefinition;
  seedCustomObject(
    key: string,
    input?: { title?: string; fields?: { key: string; type: string; title?: string }[] },
  ): ZendeskCustomObject;
  /**
   * Signs `userId` in to the help center: the answer is the session cookie (`name=value`) a
   * browser would hold (the one the help center token endpoint reads). With it and no API
   * credentials, a caller acts as that end user on the few endpoints a help center page may
   * call (custom object records, read under the end-user policy).
   */
  signIn(userId: number): string;
  /** Resolves once every echo webhook queued so far has been delivered (or failed). */
  flushWebhooks(): Promise<void>;
  close(): Promise<void>;
}
