/**
 * What `inspect` (and `identity link|unlink|forget`, `resync --customer`) read of one customer, as plain
 * data: the record REF names with the identity keys it owns, and on request where each part came from
 * (lineage), the manual identity changes, and how its identity came about (links, refused ids, conflicts).
 */
import type { Redis } from 'ioredis';
import { parseStripeKey, type IdentityConflict } from '../events/identity.js';
import { refusalsOf, type IdentityRefusal } from '../events/identity-refusals.js';
import type { CustomerRecord, Stamp } from '../events/record.js';
import type { RecordStore } from '../events/store.js';
import { IdentityAdmin, type AuditEntry } from './identity-admin.js';
import { findCustomer } from './lookup.js';

/** REF names no customer, or several (the message then lists them). */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export type LineageRow = { entity: string } & Stamp;

/** Every entity's stamp: which event (source, id, type, version) set it. */
export function lineage(record: CustomerRecord): LineageRow[] {
  const rows: LineageRow[] = [];
  const add = (entity: string, e: { stamp: Stamp } | null | undefined) => void (e && rows.push({ entity, ...e.stamp }));
  add('stripe.customer', record.stripe.customer);
  for (const [group, map] of [
    ['stripe.subscription', record.stripe.subscriptions],
    ['stripe.invoice', record.stripe.invoices],
    ['stripe.payment_method', record.stripe.paymentMethods],
    ['stripe.charge', record.stripe.charges],
    ['salesforce.contact', record.salesforce.contacts],
    ['zendesk.user', record.zendesk.users],
    ['zendesk.ticket', record.zendesk.tickets],
  ] as const) {
    for (const [id, e] of Object.entries(map)) add(`${group} ${id}`, e);
  }
  add('salesforce.account', record.salesforce.account);
  add('zendesk.organization', record.zendesk.organization);
  return rows.sort((a, b) => a.entity.localeCompare(b.entity));
}

/** The one record REF names (lookup.ts), or an error that says why not and, when several fit, lists them. */
export async function inspectRecord(
  store: RecordStore,
  ref: string,
): Promise<{ record: CustomerRecord; keys: string[] }> {
  const found = await findCustomer(store, ref);
  if (found.kind === 'none') throw new NotFoundError(found.message);
  if (found.kind === 'several') {
    const width = Math.max(...found.candidates.map((c) => c.id.length));
    throw new NotFoundError(
      `${found.message}:\n${found.candidates.map((c) => `  ${c.id.padEnd(width)}  ${c.name ?? '(no name)'}  (${c.via})`).join('\n')}`,
    );
  }
  // The whole customer, people kept beside the record included.
  const record = (await store.getFull(found.record.id)) ?? found.record;
  return { record, keys: await store.ownedKeys(record.id) };
}

/** How the record's identity came about: what links it, what was refused, which conflicts name it. */
export interface IdentityExplanation {
  linkedBy: string[];
  refused: IdentityRefusal[];
  conflicts: IdentityConflict[];
}

export async function explainIdentity(
  store: RecordStore,
  recordId: string,
  keys: string[],
): Promise<IdentityExplanation> {
  const [refused, conflicts] = await Promise.all([store.listRefusals(), store.listConflicts()]);
  return {
    linkedBy: keys,
    refused: refusalsOf(refused, recordId, keys),
    conflicts: conflicts.filter((c) => c.recordIds.includes(recordId)),
  };
}

/** A Stripe account as the deployment lists it (the app's configured accounts are these). */
export interface ListedStripeAccount {
  id: string | null;
  label: string;
}

export interface StripeAccountOf {
  customerId: string;
  accountId: string | null;
  label: string | null;
}

/** The record's Stripe customer and the account it is in (its label when the account is listed), from its key. */
export function stripeAccountOf(
  keys: readonly string[],
  accounts: readonly ListedStripeAccount[],
): StripeAccountOf | null {
  const key = keys.map(parseStripeKey).find((k) => k !== null);
  if (!key) return null;
  const listed =
    accounts.find((a) => a.id === key.accountId) ??
    (key.accountId === null && accounts.length === 1 ? accounts[0] : undefined);
  return { ...key, label: listed?.label ?? null };
}

/** One customer as `inspect` shows it; `explained` only when asked for (--explain). */
export interface Inspection {
  record: CustomerRecord;
  keys: string[];
  stripe: StripeAccountOf | null;
  explained: { lineage: LineageRow[]; audit: AuditEntry[]; identity: IdentityExplanation } | null;
}

export async function inspectCustomer(
  redis: Redis,
  store: RecordStore,
  ref: string,
  opts: { explain: boolean; stripeAccounts: readonly ListedStripeAccount[] },
): Promise<Inspection> {
  const { record, keys } = await inspectRecord(store, ref);
  const stripe = stripeAccountOf(keys, opts.stripeAccounts);
  if (!opts.explain) return { record, keys, stripe, explained: null };
  const audit = await new IdentityAdmin(store, redis).audit(record.id);
  const identity = await explainIdentity(store, record.id, keys);
  return { record, keys, stripe, explained: { lineage: lineage(record), audit, identity } };
}
