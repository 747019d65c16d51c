/**
 * zod schemas for the contract types that cross a queue (a deflection push
 * job carries its DeflectionEvent), and the one serializer every writer uses,
 * so that the same event always becomes the same bytes (a sorted-set member
 * written twice stays one member).
 */
import { z } from 'zod';
import { canonical } from '../events/record.js';
import { TICKET_CATEGORIES } from '../events/source-event.js';
import type { DeflectionEvent } from './types.js';

const isoDate = z.iso.datetime({ offset: true });

const TicketCategorySchema = z.enum(TICKET_CATEGORIES);

const ActivitySummarySchema = z.strictObject({
  type: z.string().min(1),
  at: isoDate,
  query: z.string().nullish(),
  resultCount: z.number().int().nonnegative().nullish(),
  articleId: z.string().nullish(),
  invoiceId: z.string().nullish(),
  ticketId: z.string().nullish(),
});

export const DeflectionEventSchema = z.strictObject({
  id: z.string().min(1),
  customerId: z.string().min(1),
  sessionId: z.string().min(1),
  contact: z.string().min(1),
  outcome: z.enum(['deflected', 'escalated']),
  category: TicketCategorySchema,
  sessionStartedAt: isoDate,
  decidedAt: isoDate,
  lastActivity: ActivitySummarySchema.nullable(),
  ticketId: z.string().min(1).optional(),
  brandId: z.string().min(1).optional(),
});

// The schema must describe the contract exactly: this line stops compiling if types.ts changes.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _contract: Same<z.infer<typeof DeflectionEventSchema>, DeflectionEvent> = true;
void _contract;

/** Canonical JSON: sorted keys, undefined dropped. */
export function toJson(value: unknown): string {
  return JSON.stringify(canonical(value));
}
