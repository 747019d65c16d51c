/**
 * The contract between the core and a portal platform (Zendesk Help Center,
 * Salesforce Experience Cloud). The core decides WHAT to push and WHEN; a
 * target only knows HOW to write it with its platform's SDK, and says, with
 * one of three error classes, whether a failure is worth retrying.
 *
 * This module imports no SDK.
 */
import type { PortalTargetName } from '../config.js';
import type { PortalProjection } from './project.js';
import type { Derived } from './record.js';
import type { DeflectionEvent } from './deflection/types.js';

export interface PortalPush {
  customerId: string;
  /** Where the customer lives on each platform: a target writes only there. */
  links: Derived['links'];
  profile: Derived['profile'];
  projection: PortalProjection;
  /** What this target last accepted for this customer (null: never pushed), to write only the difference. */
  previous: PortalProjection | null;
}

export interface PushResult {
  /** API calls made (0 when there was nothing to write). */
  calls: number;
  /** What was written, e.g. `organization_fields`, `invoice:in_123`, `ticket:5301`. */
  wrote: string[];
  /** Why nothing was written, e.g. the customer has no account on this platform yet. */
  skipped?: string;
}

export interface PortalTarget {
  readonly name: PortalTargetName;
  push(p: PortalPush): Promise<PushResult>;
  /**
   * Records a decided self-service session on the platform (Zendesk: an event on the contact's
   * profile; Salesforce: a deflection record on the Account). `links` are the customer's current
   * ones. A target without it records none; one that cannot place the event says so in `skipped`.
   */
  recordDeflection?(event: DeflectionEvent, links: Derived['links']): Promise<PushResult>;
}

/** 429: wait at least this long, then try again; never counted as success. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** 5xx, timeouts, connection resets: back off and retry. */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

/** Any other 4xx: a retry cannot help; dead-letter with the platform's own message. */
export class PermanentError extends Error {
  override name = 'PermanentError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}
