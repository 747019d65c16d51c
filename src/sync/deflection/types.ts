/**
 * The contract between the deflection tracker (which writes) and the report
 * (which reads). No I/O here.
 */
import type { TicketCategory } from '../events/source-event.js';

export type DeflectionOutcome = 'deflected' | 'escalated';

/** What the customer did last before the outcome, e.g. the search that found nothing. */
export interface ActivitySummary {
  type: string;
  at: string;
  query?: string | null;
  resultCount?: number | null;
  articleId?: string | null;
  invoiceId?: string | null;
  ticketId?: string | null;
}

/** One classified self-service session: the unit every measure counts. */
export interface DeflectionEvent {
  /** Stable: `defl-<sessionId>`; also the external id on the portal target. */
  id: string;
  customerId: string;
  sessionId: string;
  /** Who was active (normalized email, or a platform user id as `zendesk:user:ID` / `salesforce:contact:ID`). */
  contact: string;
  outcome: DeflectionOutcome;
  category: TicketCategory;
  sessionStartedAt: string;
  /** When the outcome was decided: the ticket's creation (escalated) or the window's end (deflected). */
  decidedAt: string;
  lastActivity: ActivitySummary | null;
  /** Escalated only: the ticket that was opened. */
  ticketId?: string;
  /** The Zendesk brand whose Help Center the session was on; absent when its activity named none. */
  brandId?: string;
}

/** A self-service session as first seen (counted for adoption even before it is classified). */
export interface SessionStart {
  sessionId: string;
  customerId: string;
  startedAt: string;
  brandId?: string;
}

export interface NoResultSearch {
  query: string;
  at: string;
  customerId: string;
  brandId?: string;
}

export interface TicketOpened {
  ticketId: string;
  customerId: string;
  category: TicketCategory;
  createdAt: string;
  /** The ticket's Zendesk brand, when its event named one. */
  brandId?: string;
}

/** What the report reads, for a period [from, to). Implemented on Redis by the tracker's store. */
export interface DeflectionData {
  events(from: Date, to: Date): Promise<DeflectionEvent[]>;
  sessions(from: Date, to: Date): Promise<SessionStart[]>;
  noResultSearches(from: Date, to: Date): Promise<NoResultSearch[]>;
  ticketsOpened(from: Date, to: Date): Promise<TicketOpened[]>;
  /** Customers known to portal-sync (records), the denominator of portal adoption and tickets per customer. */
  customerCount(): Promise<number>;
  /** Where the kept history begins (ms): older data has been trimmed (deflection.historyDays); null while nothing has been. */
  historyFrom?(): Promise<number | null>;
}
