/*
 * portalCustomerView: the signed-in Experience Cloud member's billing status, invoices and support
 * tickets, for an Experience Builder page. It asks PortalCustomerViewController for the running
 * user's view and sends no ids of its own (the server decides whose Account it is), and reports
 * invoice views and downloads through PortalSyncActivity (signed on the server, best effort).
 */
import { LightningElement, api } from 'lwc';
import getView from '@salesforce/apex/PortalCustomerViewController.getView';
import track from '@salesforce/apex/PortalSyncActivity.track';
import LOCALE from '@salesforce/i18n/locale';
import TIME_ZONE from '@salesforce/i18n/timeZone';
import {
    formatDay,
    formatInstant,
    formatMoney,
    invoiceStatusLabel,
    leftToPay,
    openFirst,
    safeLink,
    statusNeedsAction,
    subscriptionStatusLabel
} from './format';

export default class PortalCustomerView extends LightningElement {
    /** Heading of the panel, set in Experience Builder. */
    @api title = 'Billing and support';
    /** Leaves the ticket list out, set in Experience Builder. */
    @api hideTickets = false;

    loading = true;
    view = null;
    errorMessage = null;

    connectedCallback() {
        this.load();
    }

    async load() {
        this.loading = true;
        this.errorMessage = null;
        try {
            this.view = await getView();
        } catch (error) {
            this.view = null;
            this.errorMessage = messageOf(error);
        } finally {
            this.loading = false;
        }
    }

    handleRetry() {
        this.load();
    }

    handleInvoiceLink(event) {
        const { activity, invoice } = event.currentTarget.dataset;
        // Best effort: the link opens whatever happens to the activity report.
        track({ type: activity, invoiceId: invoice }).catch(() => {});
    }

    get busy() {
        return String(this.loading);
    }

    get hasError() {
        return !this.loading && this.errorMessage !== null;
    }

    get noCustomer() {
        return !this.loading && this.errorMessage === null && !this.view;
    }

    get hasView() {
        return !this.loading && this.errorMessage === null && Boolean(this.view);
    }

    get statusLabel() {
        return subscriptionStatusLabel(this.view.billingStatus) || 'No subscription';
    }

    get statusClass() {
        return statusNeedsAction(this.view.billingStatus) ? 'status status_attention' : 'status';
    }

    get plan() {
        return this.view.plan || '—';
    }

    get nextInvoiceDate() {
        return formatDay(this.view.nextInvoiceDate, LOCALE) || '—';
    }

    get delinquent() {
        return this.view.delinquent === true;
    }

    get invoices() {
        return openFirst(this.view.invoices || []).map((i) => ({
            key: i.id,
            stripeInvoiceId: i.stripeInvoiceId,
            numberLabel: i.numberLabel || i.stripeInvoiceId,
            status: invoiceStatusLabel(i.status) || '',
            total: formatMoney(i.total, i.currencyCode, LOCALE),
            amountDue: formatMoney(leftToPay(i.amountDue, i.amountPaid), i.currencyCode, LOCALE),
            dueDate: formatDay(i.dueDate, LOCALE) || '—',
            hostedUrl: safeLink(i.hostedUrl),
            pdfUrl: safeLink(i.pdfUrl)
        }));
    }

    get hasInvoices() {
        return this.invoices.length > 0;
    }

    get tickets() {
        return (this.view.tickets || []).map((t) => ({
            key: t.id,
            subject: t.subject || `Ticket ${t.zendeskTicketId}`,
            reference: t.zendeskTicketId ? `#${t.zendeskTicketId}` : '',
            status: t.status ? t.status.replace(/_/g, ' ') : '',
            updatedAt: formatInstant(t.updatedAt, LOCALE, TIME_ZONE)
        }));
    }

    get showTickets() {
        return !this.hideTickets;
    }

    get hasTickets() {
        return this.tickets.length > 0;
    }
}

/** The server's own message (AuraHandledException), or a generic one: never a stack or an internal detail. */
function messageOf(error) {
    const body = error && error.body;
    if (body && typeof body.message === 'string' && body.message) return body.message;
    return 'Please try again in a moment.';
}
