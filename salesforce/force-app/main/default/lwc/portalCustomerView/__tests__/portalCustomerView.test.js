/*
 * portalCustomerView as the member sees it, with the Apex methods mocked at their import (the only
 * seam a component has): status panel, invoices with their links (open first), the empty, "no
 * customer" and error states, retry, the activity reported on a link click, and nothing but https
 * links rendered.
 */
import { createElement } from 'lwc';
import PortalCustomerView from 'c/portalCustomerView';
import getView from '@salesforce/apex/PortalCustomerViewController.getView';
import track from '@salesforce/apex/PortalSyncActivity.track';

jest.mock('@salesforce/apex/PortalCustomerViewController.getView', () => ({ default: jest.fn() }), { virtual: true });
jest.mock('@salesforce/apex/PortalSyncActivity.track', () => ({ default: jest.fn() }), { virtual: true });

const ACME = {
    accountName: 'Acme',
    billingStatus: 'past_due',
    plan: 'Business',
    nextInvoiceDate: '2026-12-01',
    delinquent: true,
    invoices: [
        {
            id: 'a01000000000001AAA', stripeInvoiceId: 'in_paid', numberLabel: 'ACME-0001', status: 'paid', total: 99, amountDue: 99,
            amountPaid: 99, currencyCode: 'USD', dueDate: '2026-10-15',
            hostedUrl: 'https://invoice.stripe.com/i/acct_1/in_paid', pdfUrl: 'https://pay.stripe.com/invoice/acct_1/in_paid/pdf'
        },
        {
            id: 'a01000000000002AAA', stripeInvoiceId: 'in_open', numberLabel: 'ACME-0002', status: 'open', total: 1234.5, amountDue: 1234.5,
            amountPaid: 0, currencyCode: 'EUR', dueDate: '2026-11-30',
            hostedUrl: 'https://invoice.stripe.com/i/acct_1/in_open', pdfUrl: 'https://pay.stripe.com/invoice/acct_1/in_open/pdf'
        }
    ],
    tickets: [
        { id: 'a02000000000001AAA', zendeskTicketId: '101', subject: 'Where is my invoice?', status: 'pending', updatedAt: '2026-11-23T10:00:00.000Z' }
    ]
};

/** Lets the component's promise chain and re-render settle. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

async function render(props = {}) {
    const element = createElement('c-portal-customer-view', { is: PortalCustomerView });
    Object.assign(element, props);
    document.body.appendChild(element);
    await settle();
    return element;
}

const $ = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);
const $$ = (element, id) => [...element.shadowRoot.querySelectorAll(`[data-id="${id}"]`)];
const text = (node) => node.textContent.replace(/\s+/g, ' ').trim();

afterEach(() => {
    while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    jest.clearAllMocks();
});

describe('c-portal-customer-view', () => {
    it('shows the Account status, plan, next invoice date and the overdue notice', async () => {
        getView.mockResolvedValue(ACME);
        const element = await render();

        expect(getView).toHaveBeenCalledTimes(1);
        expect(getView.mock.calls[0]).toEqual([]); // the server decides whose view it is: nothing is sent
        expect(text($(element, 'billing-status'))).toBe('Past due');
        expect($(element, 'billing-status').className).toContain('status_attention');
        expect(text($(element, 'plan'))).toBe('Business');
        expect(text($(element, 'next-invoice'))).toBe('Dec 1, 2026');
        expect($(element, 'delinquent').getAttribute('role')).toBe('status');
        expect(element.shadowRoot.querySelector('h2').textContent).toBe('Billing and support');
    });

    it('lists invoices open first, with money in their currency, due dates and working links', async () => {
        getView.mockResolvedValue(ACME);
        const element = await render();

        const rows = $$(element, 'invoice');
        expect(rows.map((r) => text(r.querySelector('[data-id="invoice-number"]')))).toEqual(['ACME-0002', 'ACME-0001']);
        const open = rows[0];
        expect(text(open.querySelector('[data-id="invoice-status"]'))).toBe('Open');
        expect(text(open.querySelector('[data-id="invoice-total"]'))).toBe('€1,234.50');
        expect(text(open.querySelector('[data-id="invoice-due"]'))).toBe('€1,234.50');
        expect(text(open.querySelector('[data-id="invoice-due-date"]'))).toBe('Nov 30, 2026');
        expect(text(rows[1].querySelector('[data-id="invoice-total"]'))).toBe('$99.00');
        // Paid: Amount_Due__c keeps Stripe's amount_due (what was due); the column shows what is left to pay.
        expect(text(rows[1].querySelector('[data-id="invoice-due"]'))).toBe('$0.00');

        const view = open.querySelector('[data-id="invoice-link"]');
        expect(view.getAttribute('href')).toBe('https://invoice.stripe.com/i/acct_1/in_open');
        expect(view.getAttribute('target')).toBe('_blank');
        expect(view.getAttribute('rel')).toBe('noopener noreferrer');
        expect(text(view)).toBe('View invoice ACME-0002 (opens in a new tab)');
        expect(open.querySelector('[data-id="invoice-pdf"]').getAttribute('href')).toBe('https://pay.stripe.com/invoice/acct_1/in_open/pdf');
        expect(element.shadowRoot.querySelector('caption').textContent).toContain('invoices');
        expect($$(element, 'invoice-number').every((th) => th.getAttribute('scope') === 'row')).toBe(true);
    });

    it('reports an invoice view and a download as activity, and a failed report does not break the page', async () => {
        getView.mockResolvedValue(ACME);
        track.mockRejectedValue({ body: { message: 'unknown activity type' } });
        const element = await render();

        const [open] = $$(element, 'invoice');
        open.querySelector('[data-id="invoice-link"]').click();
        open.querySelector('[data-id="invoice-pdf"]').click();
        await settle();

        expect(track.mock.calls).toEqual([[{ type: 'invoice_view', invoiceId: 'in_open' }], [{ type: 'invoice_download', invoiceId: 'in_open' }]]);
        expect($(element, 'error')).toBeNull();
    });

    it('lists the tickets with status and when they changed, unless the page hides them', async () => {
        getView.mockResolvedValue(ACME);
        const element = await render();
        const [ticket] = $$(element, 'ticket');
        expect(text(ticket.querySelector('[data-id="ticket-subject"]'))).toBe('Where is my invoice?');
        expect(text(ticket.querySelector('[data-id="ticket-reference"]'))).toBe('#101');
        expect(text(ticket.querySelector('[data-id="ticket-status"]'))).toBe('pending');
        // The member's time zone (the test platform's: America/Los_Angeles).
        expect(text(ticket.querySelector('[data-id="ticket-updated"]'))).toBe('Updated Nov 23, 2026, 2:00 AM');

        document.body.removeChild(element);
        const hidden = await render({ hideTickets: true });
        expect($(hidden, 'tickets')).toBeNull();
        expect($$(hidden, 'invoice')).toHaveLength(2);
    });

    it('says so when there are no invoices and no tickets yet', async () => {
        getView.mockResolvedValue({ ...ACME, billingStatus: 'active', delinquent: false, invoices: [], tickets: [] });
        const element = await render();
        expect(text($(element, 'no-invoices'))).toBe('No invoices yet.');
        expect(text($(element, 'no-tickets'))).toBe('No support tickets.');
        expect(text($(element, 'billing-status'))).toBe('Active');
        expect($(element, 'billing-status').className).not.toContain('status_attention');
        expect($(element, 'delinquent')).toBeNull();
    });

    it('tells a user who is no customer member that there is nothing to show', async () => {
        getView.mockResolvedValue(null);
        const element = await render();
        expect($(element, 'no-customer')).not.toBeNull();
        expect($(element, 'status')).toBeNull();
        expect($(element, 'error')).toBeNull();
    });

    it("shows the server's message in an alert when the view cannot be read, and loads again on retry", async () => {
        getView.mockRejectedValueOnce({ body: { message: 'Your billing details are not available to your user.' } });
        getView.mockResolvedValueOnce(ACME);
        const element = await render();

        const error = $(element, 'error');
        expect(error.getAttribute('role')).toBe('alert');
        expect(text(error)).toContain("We couldn't load your billing details.");
        expect(text(error)).toContain('Your billing details are not available to your user.');
        expect($(element, 'status')).toBeNull();

        error.querySelector('button').click();
        await settle();
        expect(getView).toHaveBeenCalledTimes(2);
        expect($(element, 'error')).toBeNull();
        expect(text($(element, 'billing-status'))).toBe('Past due');
    });

    it('shows a generic message, never a stack, when the failure carries no message of ours', async () => {
        getView.mockRejectedValue(new TypeError('Failed to fetch'));
        const element = await render();
        expect(text($(element, 'error'))).toContain('Please try again in a moment.');
        expect(text($(element, 'error'))).not.toContain('TypeError');
    });

    it('never renders a link that is not https', async () => {
        const invoice = { ...ACME.invoices[1], hostedUrl: 'javascript:alert(1)', pdfUrl: 'http://pay.example/in_open.pdf' };
        getView.mockResolvedValue({ ...ACME, invoices: [invoice] });
        const element = await render();
        expect($$(element, 'invoice')).toHaveLength(1);
        expect($(element, 'invoice-link')).toBeNull();
        expect($(element, 'invoice-pdf')).toBeNull();
    });

    it('announces loading while the view is on its way', async () => {
        let resolve;
        getView.mockReturnValue(new Promise((r) => (resolve = r)));
        const element = createElement('c-portal-customer-view', { is: PortalCustomerView });
        document.body.appendChild(element);
        await settle();
        expect(element.shadowRoot.querySelector('[role="status"]').textContent).toContain('Loading');
        expect(element.shadowRoot.querySelector('section').getAttribute('aria-busy')).toBe('true');
        resolve(ACME);
        await settle();
        expect(element.shadowRoot.querySelector('section').getAttribute('aria-busy')).toBe('false');
        expect(text($(element, 'billing-status'))).toBe('Past due');
    });
});
