/**
 * A Connect platform's connected accounts as snapshot streams: the platform lists them (`GET /v1/accounts`,
 * 100 per page, `starting_after`), and each one is read through the platform's key with the `Stripe-Account`
 * header, with the same per-account streams a listed account has. One stream per kind walks every connected
 * account in turn; its cursor holds the account being read and that account's own cursor, so a resync or
 * reconcile pass cut short resumes in the account, at the page, where it stopped.
 */
import type Stripe from 'stripe';
import type { SnapshotPage, SnapshotStream } from '../../sync/resync/snapshot.js';
import { pageError } from '../../sync/errors.js';
import { classifyStripeError } from './client.js';

/** Makes the per-account stream of one kind for a connected account (its client sends Stripe-Account). */
export type ConnectedStreamFactory = (accountId: string) => SnapshotStream;

interface ConnectCursor {
  /** The connected account being read. */
  a: string;
  /** Its stream's cursor (null: from its beginning). */
  c: string | null;
}

function parseCursor(cursor: string | null): ConnectCursor | null {
  if (cursor === null) return null;
  const parsed = JSON.parse(cursor) as Partial<ConnectCursor>;
  if (typeof parsed.a !== 'string' || !/^acct_[A-Za-z0-9]+$/.test(parsed.a))
    throw new Error(`not a Connect stream cursor: ${cursor}`);
  return { a: parsed.a, c: typeof parsed.c === 'string' ? parsed.c : null };
}

const CONNECT_ACCOUNTS_PAGE = 100;

/**
 * The connected account listed after `after` (null: the first), or null when there is none: from the last
 * page of the list while it has one, else the next page (`starting_after`), 100 ids kept at most.
 */
function connectedAccountWalker(platform: Stripe): (after: string | null) => Promise<string | null> {
  let listed: string[] = [];
  return async (after) => {
    const i = after === null ? -1 : listed.indexOf(after);
    if (i >= 0 && i + 1 < listed.length) return listed[i + 1]!;
    try {
      const page = await platform.accounts.list({
        limit: CONNECT_ACCOUNTS_PAGE,
        ...(after !== null && { starting_after: after }),
      });
      listed = page.data.map((a) => a.id);
      return listed[0] ?? null;
    } catch (err) {
      throw pageError('stripe', classifyStripeError(err), err);
    }
  };
}

/**
 * One stream named `name` over every connected account of `platform`: each page is one page of one
 * account's stream (made by `streamFor`), and the stream goes on to the next listed account when that one
 * is done. Accounts are listed 100 at a time; only that page's ids are held.
 */
export function connectedAccountsStream(
  platform: Stripe,
  name: string,
  streamFor: ConnectedStreamFactory,
): SnapshotStream {
  const nextConnectedAccount = connectedAccountWalker(platform);
  const streams = new Map<string, SnapshotStream>();
  const inner = (accountId: string): SnapshotStream => {
    let s = streams.get(accountId);
    if (!s) {
      streams.clear(); // one account at a time
      s = streamFor(accountId);
      streams.set(accountId, s);
    }
    return s;
  };
  return {
    name,
    source: 'stripe',
    async page(cursor): Promise<SnapshotPage> {
      const at = parseCursor(cursor) ?? { a: await nextConnectedAccount(null), c: null };
      if (at.a === null) return { events: [], next: null, read: 0, rejected: [] };
      const page = await inner(at.a).page(at.c);
      if (page.next !== null) return { ...page, next: JSON.stringify({ a: at.a, c: page.next }) };
      const following = await nextConnectedAccount(at.a);
      return { ...page, next: following === null ? null : JSON.stringify({ a: following, c: null }) };
    },
  };
}
