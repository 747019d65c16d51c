/*
 * How the portal component writes money, days, instants and statuses for the member's locale: pure
 * functions over Intl, so that the page and its tests agree. Invoice amounts arrive in major units
 * with an ISO 4217 code; due dates are Salesforce Date values (YYYY-MM-DD, no time zone: shown as that
 * calendar day everywhere); ticket times are instants (shown in the member's time zone).
 */

const SUBSCRIPTION_STATUS = {
    active: 'Active',
    trialing: 'Trial',
    past_due: 'Past due',
    unpaid: 'Unpaid',
    canceled: 'Canceled',
    incomplete: 'Incomplete',
    incomplete_expired: 'Expired',
    paused: 'Paused'
};

const INVOICE_STATUS = { open: 'Open', paid: 'Paid', uncollectible: 'Uncollectible', void: 'Void' };

/** Statuses that ask something of the customer: shown with a warning style. */
const NEEDS_ACTION = new Set(['past_due', 'unpaid', 'incomplete', 'incomplete_expired']);

function label(table, value) {
    if (value === null || value === undefined || value === '') return null;
    return table[value] || String(value).replace(/_/g, ' ');
}

export const subscriptionStatusLabel = (status) => label(SUBSCRIPTION_STATUS, status);
export const invoiceStatusLabel = (status) => label(INVOICE_STATUS, status);
export const statusNeedsAction = (status) => NEEDS_ACTION.has(status);

/** `amount` (major units) in `currencyCode`, or the bare number when the code is missing or unknown to Intl. */
export function formatMoney(amount, currencyCode, locale) {
    if (amount === null || amount === undefined) return '';
    try {
        if (currencyCode) return new Intl.NumberFormat(locale, { style: 'currency', currency: currencyCode }).format(amount);
    } catch (e) {
        // RangeError: not a currency code Intl knows; fall through to the number alone.
    }
    return new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(amount);
}

/**
 * What is left to pay of an invoice, in major units. Amount_Due__c is Stripe's amount_due, which a
 * paid invoice keeps (what was due); Stripe's amount_remaining is amount_due − amount_paid.
 */
export function leftToPay(amountDue, amountPaid) {
    if (amountDue === null || amountDue === undefined) return null;
    if (typeof amountPaid !== 'number') return amountDue;
    return Math.max(0, Number((amountDue - amountPaid).toFixed(4)));
}

/** A Salesforce Date (`2026-12-15`) as that calendar day, whatever the viewer's time zone. */
export function formatDay(isoDay, locale) {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDay || '');
    if (!m) return '';
    const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
    return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(utc);
}

/** An instant (ISO 8601) as date and time in `timeZone`. */
export function formatInstant(iso, locale, timeZone) {
    const t = Date.parse(iso || '');
    if (Number.isNaN(t)) return '';
    return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(t);
}

/** Open invoices first (they ask for payment), otherwise in the order the server gave (newest first). */
export function openFirst(invoices) {
    return [...invoices].sort((a, b) => Number(b.status === 'open') - Number(a.status === 'open'));
}

/** Only https links are rendered: a stored value like `javascript:…` never becomes a link. */
export function safeLink(url) {
    return typeof url === 'string' && /^https:\/\/[^\s]+$/i.test(url) ? url : null;
}
