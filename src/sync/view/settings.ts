/** The `view:` block of the YAML configuration: the signed-in customer's own view (GET /portal/v1/me). */
import { z } from 'zod';

const VIEW_TICKET_SCOPES = ['requester', 'organization'] as const;
export type ViewTicketScope = (typeof VIEW_TICKET_SCOPES)[number];

export const ViewSettingsSchema = z.strictObject({
  clockToleranceSeconds: z.number().int().min(0).max(300),
  maxTokenAgeSeconds: z.number().int().min(60).max(86_400),
  jwks: z.strictObject({
    refreshSeconds: z.number().int().min(60).max(86_400),
    cooldownSeconds: z.number().int().min(1).max(3_600),
    timeoutMs: z.number().int().min(100).max(30_000),
    maxStaleSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400),
  }),
  rateLimit: z.strictObject({ perMinute: z.number().int().min(1).max(100_000) }),
  recentPaidInvoices: z.number().int().min(0).max(100),
  tickets: z.enum(VIEW_TICKET_SCOPES),
});
