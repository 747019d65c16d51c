/**
 * Ticket categories from the rules in config (`ticketCategories:`). Pure.
 *
 * Three passes, strongest signal first: the Zendesk ticket form the customer
 * picked, then the ticket's tags (set by agents and triggers), then keywords
 * in the subject and description. Within a pass the first rule, in config
 * order, that matches wins. So a ticket filed on the billing form is billing
 * even if its text says "password", and the order of rules only settles
 * ties between signals of the same strength.
 *
 * The same keywords classify what a customer typed into the portal (a
 * search, the subject of a case they then abandoned), so that a deflected
 * session gets the category its ticket would have had.
 */
import { TICKET_CATEGORIES, type SourceEvent, type TicketCategory } from './source-event.js';

interface TicketCategoryRule {
  category: TicketCategory;
  formIds?: readonly string[];
  tags?: readonly string[];
  /** Words or phrases, matched whole and ignoring case ("log in" matches "Log  in", not "login"). */
  keywords?: readonly string[];
}

export interface TicketCategoryRules {
  /** When no rule matches. */
  default: TicketCategory;
  rules: readonly TicketCategoryRule[];
}

interface TicketFacts {
  formId: string | null;
  tags: readonly string[];
  subject: string | null;
  description: string | null;
}

export interface TicketClassifier {
  ticket(t: TicketFacts): TicketCategory;
  /** The category of a form id, or null when no rule names it. */
  form(formId: string): TicketCategory | null;
  /** The category a piece of text points to, or null. */
  text(text: string): TicketCategory | null;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One regex per rule; letters and digits on either side mean "inside a longer word", so no match. */
function keywordPattern(keywords: readonly string[]): RegExp | null {
  const alternatives = keywords
    .map((k) => k.trim())
    .filter((k) => k !== '')
    .map((k) => k.split(/\s+/).map(escapeRegExp).join('\\s+'));
  if (alternatives.length === 0) return null;
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'iu');
}

export function isTicketCategory(value: unknown): value is TicketCategory {
  return typeof value === 'string' && (TICKET_CATEGORIES as readonly string[]).includes(value);
}

export function createTicketClassifier(config: TicketCategoryRules): TicketClassifier {
  const rules = config.rules.map((r) => ({
    category: r.category,
    forms: new Set(r.formIds ?? []),
    tags: new Set((r.tags ?? []).map((t) => t.toLowerCase())),
    keywords: keywordPattern(r.keywords ?? []),
  }));
  const byText = (text: string): TicketCategory | null => rules.find((r) => r.keywords?.test(text))?.category ?? null;
  const byForm = (formId: string): TicketCategory | null => rules.find((r) => r.forms.has(formId))?.category ?? null;
  return {
    form: byForm,
    text: byText,
    ticket(t) {
      const tags = t.tags.map((tag) => tag.toLowerCase());
      const text = [t.subject, t.description].filter((s): s is string => !!s).join('\n');
      return (
        (t.formId !== null ? byForm(t.formId) : null) ??
        rules.find((r) => tags.some((tag) => r.tags.has(tag)))?.category ??
        (text !== '' ? byText(text) : null) ??
        config.default
      );
    },
  };
}

/**
 * A Zendesk ticket event with its category set from the rules; any other event as it was. The
 * category becomes part of the ticket's stored data, so the record stays a function of its events
 * (and of the rules): the same event classified twice gives the same bytes.
 */
export function withTicketCategory(event: SourceEvent, classifier: TicketClassifier | undefined): SourceEvent {
  if (classifier === undefined || event.data.kind !== 'zendesk.ticket') return event;
  return { ...event, data: { ...event.data, category: classifier.ticket(event.data) } };
}
