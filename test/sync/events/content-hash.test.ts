/**
 * Content hashes in the stored record: short (16 hex digits, the first 64 bits of the sha256 of the
 * entry's canonical content) so that a record, which holds one per entry and per partial field, stays
 * small; and a record an earlier release stored with the whole 64-digit hashes reads the same content
 * as the same content (no change, no tie), and orders writes as it did.
 */
import { describe, expect, it } from 'vitest';
import { applyEvent, compareStamps } from '../../../src/sync/events/merge.js';
import {
  CustomerRecordSchema,
  emptyRecord,
  sha256Hex,
  stableStringify,
  type CustomerRecord,
} from '../../../src/sync/events/record.js';
import type { SourceEvent } from '../../../src/sync/events/source-event.js';
import { account, contact, invoice, subscription } from './merge-events.js';

const fullHash = (e: SourceEvent) =>
  sha256Hex(stableStringify({ objectId: e.objectId, data: e.data, deleted: e.deleted }));

/** The record as an earlier release stored it: every hash the whole sha256 of the same content. */
function withFullHashes(record: CustomerRecord, events: readonly SourceEvent[]): CustomerRecord {
  let text = JSON.stringify(record);
  for (const e of events) text = text.replaceAll(`"${fullHash(e).slice(0, 16)}"`, `"${fullHash(e)}"`);
  return JSON.parse(text) as CustomerRecord;
}

describe('content hashes', () => {
  it('are the first 16 hex digits of the sha256 of the content, on entries and partial fields alike', () => {
    const sub = subscription('sub_h', 'active', { version: 1_000 });
    const acct = account({ Name: 'Hash Ltd', Industry: 'Logistics' }, { version: 2_000 });
    let record = applyEvent(emptyRecord('c'), sub).record;
    record = applyEvent(record, acct).record;
    expect(record.stripe.subscriptions.sub_h?.stamp.hash).toBe(fullHash(sub).slice(0, 16));
    const entry = record.salesforce.account!;
    expect(entry.stamp.hash).toBe(fullHash(acct).slice(0, 16));
    expect(Object.values(entry.fieldStamps ?? {}).map((f) => f.hash)).toEqual([
      fullHash(acct).slice(0, 16),
      fullHash(acct).slice(0, 16),
    ]);
    expect(CustomerRecordSchema.parse(record)).toEqual(record);
  });

  it('a redelivery of content an earlier release stored with whole hashes changes nothing and ties nothing', () => {
    const events = [
      subscription('sub_old', 'active', { version: 1_000 }),
      invoice('in_old', 'paid', { version: 1_500 }),
      contact('003OLD', { Email: 'old@x.example', LastName: 'Old' }, { version: 2_000 }),
    ];
    let record = emptyRecord('c');
    for (const e of events) record = applyEvent(record, e).record;
    const old = withFullHashes(record, events);
    expect(old.stripe.subscriptions.sub_old?.stamp.hash).toHaveLength(64);
    expect(CustomerRecordSchema.parse(old)).toEqual(old);
    for (const e of events) {
      const again = applyEvent(old, e);
      expect(again.changed).toBe(false);
      expect(again.tie).toBeNull();
    }
  });

  it('order writes of one version by the same content hash whatever its length', () => {
    const a = fullHash(subscription('sub_o', 'active', { version: 1 }));
    const b = fullHash(subscription('sub_o', 'past_due', { version: 1 }));
    const s = (hash: string) => ({ version: 1, rank: 0, hash });
    expect(compareStamps(s(a), s(b))).toBe(compareStamps(s(a.slice(0, 16)), s(b.slice(0, 16))));
    expect(compareStamps(s(a), s(b.slice(0, 16)))).toBe(compareStamps(s(a), s(b)));
    expect(compareStamps(s(a), s(a.slice(0, 16)))).toBe(0);
  });
});
