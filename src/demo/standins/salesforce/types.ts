/** The Salesforce stand-in's public types: fields, records, options, the call log and the handle a test drives. */
import type { FaultKind, FaultOptions, RateWindow } from '../common.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export type SalesforceFieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'email'
  | 'phone'
  | 'url'
  | 'picklist'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'reference'
  | 'address';

/** A field as describe reports it. */
export interface SalesforceField {
  name: string;
  label: string;
  type: SalesforceFieldType;
  length: number;
  custom: boolean;
  externalId: boolean;
  idLookup: boolean;
  unique: boolean;
  /** Upsert matching ignores case unless this is true (Salesforce: only Unique + case-insensitive fields match ignoring case). */
  caseSensitive: boolean;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  referenceTo: string[];
  relationshipName: string | null;
}

/** A field to define: a name alone is a 255-character text field. */
export type SalesforceFieldSpec = { name: string } & Partial<Omit<SalesforceField, 'name' | 'custom'>>;

export interface SalesforceStandInOptions {
  /** Default '62.0'. Requests may use any version from 20.0 up to this one. */
  apiVersion?: string;
  /** A windowed limit for tests; past it every call gets Salesforce's 403 REQUEST_LIMIT_EXCEEDED. */
  rate?: RateWindow;
  /** The org's daily API request limit, reported by Sforce-Limit-Info and /limits. Default 100000. */
  dailyLimit?: number;
  faults?: FaultOptions;
  /** Send the Outbound Message Salesforce would send after every write to these objects (default Account). */
  outbound?: { url: string; orgId: string; sobjects?: string[]; fields?: string[]; delayMs?: number };
  /** The org id (15 or 18 characters); outbound.orgId wins when both are set. */
  orgId?: string;
  /** Extra fields by sObject; an undefined name ending in __c becomes a custom object. */
  fields?: Record<string, Array<string | SalesforceFieldSpec>>;
  /** The connected app's consumer key and secret; defaults are generated. */
  credentials?: { clientId: string; clientSecret: string };
  /** The clock (ms) for timestamps and the rate window. */
  now?: () => number;
}

export type SalesforceRecord = { Id: string; [field: string]: unknown };

export interface SalesforceCall {
  method: string;
  /** Without the query string: `/services/data/v62.0/composite/sobjects/Account/Ext__c`. */
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  /** 0 while pending, and for a reset or hung call. */
  status: number;
  /** The parsed JSON body (the token endpoint's form: grant_type and client_id only). */
  body: unknown;
  /** `records.length` of a collections body. */
  records?: number;
  /** The Sforce-Call-Options header, e.g. `client=portal-sync`. */
  callOptions?: string;
  at: number;
  fault?: FaultKind | 'failNext';
}

export interface OutboundDelivery {
  xml: string;
  notificationIds: string[];
  recordIds: string[];
  /** The receiver's HTTP status, once answered. */
  status?: number;
  response?: string;
  error?: string;
}
