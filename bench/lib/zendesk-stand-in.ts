/**
 * The Zendesk stand-in (src/demo/standins/zendesk/index.ts) as a benchmark's portal: set
 * up the way `portal-sync setup zendesk` leaves an account, one organization
 * per synthetic customer, and read back what reached it (call rates, the
 * moment a write was answered).
 */
import type { Config } from '../../src/config.js';
import type { ZendeskCall, ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import { customer } from './fixtures.js';

type ZendeskTargetConfig = Config['targets']['zendesk'];

/** Zendesk field types of the billing fields, as the target writes them (see target-format.ts). */
export const ORGANIZATION_FIELD_TYPES: Record<keyof ZendeskTargetConfig['fields'], string> = {
  status: 'text',
  plan: 'text',
  mrr: 'decimal',
  balance: 'decimal',
  nextInvoiceDate: 'date',
  delinquent: 'checkbox',
  openInvoices: 'integer',
};

/** The organization fields and the invoice custom object the Zendesk target writes to. */
export function provisionZendesk(zd: ZendeskStandIn, cfg: ZendeskTargetConfig): void {
  for (const [name, key] of Object.entries(cfg.fields) as Array<[keyof ZendeskTargetConfig['fields'], string]>) {
    zd.seedField('organization', { key, type: ORGANIZATION_FIELD_TYPES[name] });
  }
  zd.seedCustomObject(cfg.invoiceObject.key, {
    fields: Object.values(cfg.invoiceObject.fields).map((key) => ({ key, type: 'text' })),
  });
}

/** Customers `from` … `from + count - 1` (bench/lib/fixtures numbering), each with its Zendesk organization. */
export function seedCustomerOrganizations(zd: ZendeskStandIn, from: number, count: number): void {
  for (let n = from; n < from + count; n++) {
    const c = customer(n);
    zd.seedOrganization({ id: Number(c.zendeskOrganizationId), name: c.name });
  }
}

/** Most values of `times` inside any window of `perMs`: what a platform's limiter would have counted. */
export { busiestWindow } from '../../src/demo/standins/common.js';

/**
 * Calls `listener` when each call to the stand-in has been answered (its status is set on the
 * response's `finish`, after the handler applied the write to `state`), with this process's
 * performance.now(). Returns a function that stops listening.
 */
export function onAnswered(zd: ZendeskStandIn, listener: (call: ZendeskCall, at: number) => void): () => void {
  const calls = zd.calls;
  const original = calls.push;
  let active = true;
  calls.push = function (this: ZendeskCall[], ...items: ZendeskCall[]): number {
    for (const call of items) {
      let status = call.status;
      Object.defineProperty(call, 'status', {
        configurable: true,
        enumerable: true,
        get: () => status,
        set: (value: number) => {
          status = value;
          if (active) listener(call, performance.now());
        },
      });
    }
    return original.apply(this, items);
  };
  return () => {
    active = false;
    calls.push = original;
  };
}
