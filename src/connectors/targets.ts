/** The portal targets by name: the SDK-backed implementations the daemon pushes through. */
import type { Config, PortalTargetName } from '../config.js';
import type { CallGate, PortalTarget } from '../sync/push/portal-target.js';
import { createSalesforceTarget } from './salesforce/target.js';
import { createZendeskClient } from './zendesk/client.js';
import { createZendeskTarget } from './zendesk/target.js';

export interface TargetDeps {
  /**
   * Passed by every API call: throws a RateLimitedError instead of letting a call exceed the
   * platform's limit, and holds the call's slot until it has been answered.
   */
  gate?: CallGate;
  /** The org's API usage as a platform reported it (Salesforce's Sforce-Limit-Info), after each write. */
  onApiUsage?: (used: number, limit: number) => void;
}

const FACTORIES: Record<PortalTargetName, (config: Config, deps: TargetDeps) => PortalTarget> = {
  // Zendesk counts requests per minute: every HTTP call of its SDK passes the gate.
  zendesk: (config, deps) =>
    createZendeskTarget(config, {
      client: createZendeskClient(config.zendesk, deps.gate ? { beforeRequest: deps.gate } : {}),
    }),
  // Salesforce counts API calls per day and limits concurrent requests: the queue's job limiter and concurrency bound it.
  salesforce: (config, deps) => createSalesforceTarget(config, deps.onApiUsage ? { onApiUsage: deps.onApiUsage } : {}),
};

export function createPortalTarget(name: PortalTargetName, config: Config, deps: TargetDeps = {}): PortalTarget {
  return FACTORIES[name](config, deps);
}
