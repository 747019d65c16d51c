/** The Zendesk stand-in's tickets: a new ticket with Zendesk's defaults, and an update applied the way the API applies it (a closed ticket refuses, a comment alone is a change). */
import { invalid, isRecord, iso, positiveInt, same, unixOf, type Json } from './render.js';
import type { ZendeskStore } from './store.js';
import type { ZendeskTicket, ZendeskTicketStatus } from './types.js';

export function newTicket(store: ZendeskStore, input: Partial<ZendeskTicket>): ZendeskTicket {
  const time = input.updated_at ?? input.created_at ?? store.stamp();
  const id = store.nextId('ticket', input.id);
  const subject = input.subject ?? `Ticket ${id}`;
  return {
    url: `${store.baseUrl}/tickets/${id}.json`,
    external_id: null,
    raw_subject: input.raw_subject ?? subject,
    description: '',
    status: 'open',
    priority: null,
    type: null,
    requester_id: null,
    submitter_id: input.requester_id ?? null,
    assignee_id: null,
    organization_id: null,
    group_id: null,
    ticket_form_id: null,
    brand_id: store.brandBook.defaultBrandId(),
    tags: [],
    custom_fields: [],
    via: { channel: 'web' },
    is_public: true,
    created_at: input.created_at ?? time,
    generated_timestamp: unixOf(time),
    ...input,
    id,
    subject,
    updated_at: time,
  };
}

function applyStatus(ticket: ZendeskTicket, draft: ZendeskTicket, status: string): void {
  if (!['new', 'open', 'pending', 'hold', 'solved', 'closed'].includes(status)) {
    throw invalid({ status: [{ description: `Status: ${status} is not valid`, error: 'InvalidValue' }] });
  }
  if (ticket.status === 'closed')
    throw invalid({
      status: [{ description: 'Status: closed prevents ticket update', error: 'ClosedPreventsUpdate' }],
    });
  draft.status = status as ZendeskTicketStatus;
}

/** Applies a ticket update; returns whether anything changed (then updated_at moves). */
export function updateTicket(now: () => number, ticket: ZendeskTicket, input: Json): boolean {
  const draft = structuredClone(ticket);
  for (const key of ['subject', 'description', 'priority', 'type', 'external_id'] as const) {
    if (key in input) (draft as unknown as Json)[key] = input[key] === null ? null : String(input[key]);
  }
  if ('subject' in input) draft.raw_subject = draft.subject;
  if (typeof input.status === 'string') applyStatus(ticket, draft, input.status);
  for (const key of [
    'requester_id',
    'assignee_id',
    'organization_id',
    'group_id',
    'ticket_form_id',
    'brand_id',
  ] as const) {
    if (key in input) draft[key] = positiveInt(input[key]) ?? null;
  }
  if (Array.isArray(input.tags)) draft.tags = [...new Set(input.tags.map(String))];
  if (Array.isArray(input.custom_fields)) {
    for (const cf of input.custom_fields.filter(isRecord)) {
      const id = positiveInt(cf.id);
      if (id === undefined) continue;
      const slot = draft.custom_fields.find((f) => f.id === id);
      if (slot) slot.value = cf.value ?? null;
      else draft.custom_fields.push({ id, value: cf.value ?? null });
    }
  }
  // A comment alone is a change too (it adds an audit), so it bumps updated_at.
  const changed = !same(ticket, draft) || isRecord(input.comment);
  if (changed) {
    const time = now();
    Object.assign(ticket, draft, { updated_at: iso(time), generated_timestamp: Math.floor(time / 1000) });
  }
  return changed;
}
