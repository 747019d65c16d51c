/**
 * Where deflection tracking keeps its state in Redis: one place, so that the
 * tracker (which writes) and createDeflectionData (which the report reads
 * through) can never disagree on a key. Everything lives under
 * `<prefix>:defl:`; the customer set sits beside the records it counts.
 */

export interface DeflectionKeys {
  /** Activity event ids already tracked (string, with a TTL): a redelivery changes nothing. */
  seen(eventId: string): string;
  /** A contact's most recent session id (string). */
  contact(contact: string): string;
  /** One session's state as JSON (string; expires some days after it is decided). */
  session(sessionId: string): string;
  /** A customer's sessions still waiting for their outcome (set). */
  open(customerId: string): string;
  /** A customer's recent tickets, JSON {ticketId, category} scored by creation time (zset, TTL). */
  customerTickets(customerId: string): string;
  /** A ticket id already counted as opened (string, long TTL). */
  ticket(ticketId: string): string;
  /** Open session ids scored by the end of their window (zset): what the sweep closes. */
  due: string;
  /** SessionStart JSON scored by start time (zset). */
  sessions: string;
  /** DeflectionEvent JSON scored by decision time (zset). */
  events: string;
  /** DeflectionEvent JSON decided but not yet handed to the push queues (list). */
  outbox: string;
  /** NoResultSearch JSON (with the event id, to keep equal searches apart) scored by time (zset). */
  noResults: string;
  /** TicketOpened JSON scored by creation time (zset). */
  tickets: string;
  /** Counters of one UTC hour, `YYYY-MM-DDTHH` (hash: deflected, escalated, deflected:<category>, …). */
  counts(hour: string): string;
  /** The first hour whose counters the history trim has not removed yet (string, ms). */
  trimmedUntil: string;
  /** Held while one worker trims the history (string, with a TTL: one trim an hour across workers). */
  trimLock: string;
  /** Ids of every stored customer record (set), maintained by the record store. */
  customers: string;
  /** Present once `customers` holds every record (written by the worker's reconciliation). */
  customersComplete: string;
}

export function deflectionKeys(prefix: string): DeflectionKeys {
  const k = `${prefix}:defl`;
  return {
    seen: (eventId) => `${k}:seen:${eventId}`,
    contact: (contact) => `${k}:contact:${contact}`,
    session: (sessionId) => `${k}:session:${sessionId}`,
    open: (customerId) => `${k}:open:${customerId}`,
    customerTickets: (customerId) => `${k}:ctix:${customerId}`,
    ticket: (ticketId) => `${k}:ticket:${ticketId}`,
    due: `${k}:due`,
    sessions: `${k}:sessions`,
    events: `${k}:events`,
    outbox: `${k}:outbox`,
    noResults: `${k}:nores`,
    tickets: `${k}:tickets`,
    counts: (hour) => `${k}:count:${hour}`,
    trimmedUntil: `${k}:trimmed-until`,
    trimLock: `${k}:trim-lock`,
    customers: `${prefix}:customers`,
    customersComplete: `${prefix}:customers:complete`,
  };
}

/** The UTC hour bucket of a time, `2026-11-23T10`. */
export function hourBucket(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

/** Every hour bucket that overlaps [from, to). */
export function hourBuckets(from: number, to: number): string[] {
  const out: string[] = [];
  const first = Math.floor(from / 3_600_000) * 3_600_000;
  for (let t = first; t < to; t += 3_600_000) out.push(hourBucket(t));
  return out;
}
