/**
 * What a source enumerator hands the resync runner and the reconciler: pages
 * of snapshot SourceEvents, each page with the opaque cursor that resumes
 * AFTER it. The core never sees an SDK; src/connectors builds the streams.
 *
 * A stream is read one page at a time and nothing keeps more than one page,
 * so memory does not grow with the number of customers.
 */
import type { Source, SourceEvent } from '../events/source-event.js';

/**
 * A snapshot's event id depends only on the object and its version, so reading the same object
 * again (another resync, a reconcile pass) yields the same stamp and changes nothing.
 */
export function snapshotEventId(objectId: string, version: number): string {
  return `snap-${objectId}-${version}`;
}

export interface SnapshotPage {
  events: SourceEvent[];
  /** Resumes after this page; null when the stream is finished. */
  next: string | null;
  /** Objects read on this page (an object the parser rejects is read but yields no event). */
  read: number;
  /** Objects on this page that could not be turned into events, with why (ids only, no payloads). */
  rejected: Array<{ objectId: string; reason: string }>;
}

export interface SnapshotStream {
  /** e.g. `stripe.customers`, `zendesk.organizations`: the checkpoint key. */
  readonly name: string;
  readonly source: Source;
  /** Reads the page that starts at `cursor` (null: the beginning). */
  page(cursor: string | null): Promise<SnapshotPage>;
  /** How many objects the stream will read, when the API can tell cheaply (progress ETA). */
  estimate?(): Promise<number | null>;
}
