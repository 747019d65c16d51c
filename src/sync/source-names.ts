/** The systems events come from: a leaf module, so that the kernel (errors, health) and the events wing share it without a cycle. */
export const SOURCES = ['stripe', 'salesforce', 'zendesk', 'portal'] as const;
export type Source = (typeof SOURCES)[number];
