/** The portal targets by name: the SDK-backed implementations the daemon pushes through. */
import type { Config, PortalTargetName } from '../config.js';
import type { PortalTarget } from '../sync/portal-target.js';
import { createSalesforceTarget } from './salesforce/target.js';
import { createZendeskTarget } from './zendesk/target.js';

const FACTORIES: Record<PortalTargetName, (config: Config) => PortalTarget> = {
  zendesk: (config) => createZendeskTarget(config),
  salesforce: (config) => createSalesforceTarget(config),
};

export function createPortalTarget(name: PortalTargetName, config: Config): PortalTarget {
  return FACTORIES[name](config);
}
