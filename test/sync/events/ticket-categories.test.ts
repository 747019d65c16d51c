import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { parseZendeskWebhook } from '../../../src/connectors/zendesk/events.js';
import {
  createTicketClassifier,
  withTicketCategory,
  type TicketCategoryRules,
} from '../../../src/sync/events/ticket-categories.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';

const BILLING_FORM = '360000000501';

function defaults(): TicketCategoryRules {
  const loaded = loadConfig({});
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return loaded.config.ticketCategories;
}

/** The shipped rules, plus the form id an operator would add for a "Billing question" form. */
function withBillingForm(): TicketCategoryRules {
  const rules = defaults();
  return {
    ...rules,
    rules: rules.rules.map((r) => (r.category === 'billing' ? { ...r, formIds: [BILLING_FORM] } : r)),
  };
}

function ticketEvent(file: string, edit: (body: any) => void = () => undefined): SourceEvent {
  const body = JSON.parse(readFileSync(new URL(`../../fixtures/zendesk/${file}`, import.meta.url), 'utf8'));
  edit(body);
  const result = parseZendeskWebhook(body, {});
  if (result.kind !== 'events' || result.events[0]?.data.kind !== 'zendesk.ticket')
    throw new Error(`not a ticket event: ${JSON.stringify(result)}`);
  return result.events[0];
}

describe('ticket categories from the shipped rules', () => {
  const classify = (e: SourceEvent) =>
    withTicketCategory(e, createTicketClassifier(defaults())).data as { category?: string };

  it.each([
    ['ticket.created.password_reset.json', 'account', 'keywords: "password", "locked out"'],
    ['ticket.created.w9_request.json', 'documents', 'keywords: "W-9", "certificate"'],
    ['ticket.created.refund_form.json', 'billing', 'keyword: "charged"'],
    ['ticket.created.follow_up.json', 'status', 'tag: follow_up'],
    ['ticket.created.api_setup.json', 'onboarding', 'keywords: "integrate", "getting started"'],
    ['ticket.created.feature_request.json', 'other', 'nothing matches'],
    ['ticket.status_changed.json', 'billing', 'tags: billing, invoice_pdf'],
    ['trigger.ticket.json', 'billing', 'tags from the trigger body: billing upgrade plan_team'],
  ])('%s is %s (%s)', (file, expected) => {
    expect(classify(ticketEvent(file)).category).toBe(expected);
  });

  it('matches whole words only: "login" is not "log in", "statusbar" is not "status"', () => {
    const c = createTicketClassifier(defaults());
    expect(c.ticket({ formId: null, tags: [], subject: 'The statusbar overlaps', description: null })).toBe('other');
    expect(c.ticket({ formId: null, tags: [], subject: 'Cannot LOG   IN since Monday', description: null })).toBe(
      'account',
    );
  });
});

describe('the order of signals', () => {
  it('a ticket filed on the billing form is billing, whatever its text says', () => {
    const event = ticketEvent('ticket.created.password_reset.json', (b) => (b.detail.form_id = BILLING_FORM));
    expect(
      (withTicketCategory(event, createTicketClassifier(withBillingForm())).data as { category?: string }).category,
    ).toBe('billing');
  });

  it('tags beat keywords: a follow-up about an invoice is status', () => {
    const event = ticketEvent('ticket.created.follow_up.json', (b) => (b.detail.subject = 'Any update on my invoice?'));
    expect((withTicketCategory(event, createTicketClassifier(defaults())).data as { category?: string }).category).toBe(
      'status',
    );
  });

  it('within a pass, the first rule in config order wins: "invoice PDF" is billing before documents', () => {
    const c = createTicketClassifier(defaults());
    expect(c.ticket({ formId: null, tags: [], subject: 'Invoice PDF will not download', description: null })).toBe(
      'billing',
    );
    const rules = defaults().rules;
    const reordered = {
      ...defaults(),
      rules: [...rules.filter((r) => r.category === 'documents'), ...rules.filter((r) => r.category !== 'documents')],
    };
    expect(
      createTicketClassifier(reordered).ticket({
        formId: null,
        tags: [],
        subject: 'Invoice PDF will not download',
        description: null,
      }),
    ).toBe('documents');
  });

  it('falls back to the configured default', () => {
    const c = createTicketClassifier({ default: 'status', rules: [] });
    expect(c.ticket({ formId: '1', tags: ['x'], subject: 'hello', description: 'world' })).toBe('status');
  });
});

describe('applying the category to events', () => {
  it('sets it on ticket events only, and the same event twice gives the same bytes', () => {
    const c = createTicketClassifier(defaults());
    const ticket = ticketEvent('ticket.status_changed.json');
    expect(JSON.stringify(withTicketCategory(ticket, c))).toBe(JSON.stringify(withTicketCategory(ticket, c)));
    const notATicket = {
      ...ticket,
      data: { kind: 'zendesk.organization', id: '1', name: null, externalId: null, tags: null },
    } as SourceEvent;
    expect(withTicketCategory(notATicket, c)).toBe(notATicket);
    expect(withTicketCategory(ticket, undefined)).toBe(ticket);
  });

  it('classifies what a customer typed with the same keywords (for deflected sessions)', () => {
    const c = createTicketClassifier(withBillingForm());
    expect(c.text('where is my invoice')).toBe('billing');
    expect(c.text('reset password')).toBe('account');
    expect(c.text('dark mode')).toBeNull();
    expect(c.form(BILLING_FORM)).toBe('billing');
    expect(c.form('999')).toBeNull();
  });
});

describe('config', () => {
  it('refuses a rule with nothing to match and a category outside the contract', () => {
    const file = new URL('./bad-categories.yaml', import.meta.url).pathname;
    const result = loadConfig({ PORTAL_SYNC_CONFIG: file });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.join('\n')).toMatch(/ticketCategories\.rules\.0: a rule needs formIds, tags or keywords/);
    expect(result.problems.join('\n')).toMatch(/ticketCategories\.rules\.1\.category/);
  });
});
