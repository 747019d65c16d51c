/** The portal platforms a customer's view can be pushed to: a leaf module, so that config and the core share it without a cycle. */
export const PORTAL_TARGETS = ['zendesk', 'salesforce'] as const;
export type PortalTargetName = (typeof PORTAL_TARGETS)[number];
