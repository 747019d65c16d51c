/**
 * Zendesk as snapshot streams, through node-zendesk's transport and the
 * incremental export endpoints: organizations by time (`start_time`, the
 * page's `end_time` resumes), users and tickets by cursor (`after_cursor`).
 * Each object is versioned by its own `updated_at`.
 *
 * Incremental exports have their own, lower rate limit (10 requests a
 * minute; 30 with the High Volume add-on): the streams of one account share
 * a pacer that spaces their calls, and a 429 is waited out by the runner
 * with the Retry-After Zendesk sends.
 */
import { snapshotEventId, type SnapshotPage, type SnapshotStream } from '../../sync/resync/snapshot.js';
import { createPacer } from '../pacer.js';
import { pageError, RateLimitedError } from '../../sync/errors.js';
import { classifyZendeskError, zendeskRequest, type ZendeskClient, type ZendeskPath } from './client.js';
import { zendeskSnapshotEvent, type ZendeskRefetchKind } from './fetch.js';

export interface ZendeskStreamOptions {
  /** Only objects changed at or after this time (default: everything). */
  since?: Date | null;
  /** Export calls per minute across the streams (Zendesk: 10). */
  exportsPerMinute?: number;
  /** Objects per export page (Zendesk: 1000 at most). */
  perPage?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Hears of each wait the export pacing makes (the operator is told what the resync waits for). */
  onPace?: (ms: number) => void;
  /** The organization_fields keys a field mapping names (kept on organizations, nothing else of them). */
  keptFields?: readonly string[];
}

type ApiObject = Record<string, unknown>;
const isRecord = (v: unknown): v is ApiObject => typeof v === 'object' && v !== null && !Array.isArray(v);

async function get(client: ZendeskClient, path: ZendeskPath): Promise<ApiObject> {
  try {
    const body = await zendeskRequest(client, 'GET', path);
    if (!isRecord(body)) throw new Error('Zendesk answered with no JSON object');
    return body;
  } catch (err) {
    // The shared rate gate said "not now": wait and read the page again, like a 429.
    if (err instanceof RateLimitedError)
      throw pageError('zendesk', { retryable: true, retryAfterMs: err.retryAfterMs, message: err.message }, err);
    throw pageError('zendesk', classifyZendeskError(err), err);
  }
}

function toPage(
  kind: ZendeskRefetchKind,
  objects: unknown,
  next: string | null,
  keptFields: readonly string[] = [],
): SnapshotPage {
  const list = Array.isArray(objects) ? objects : [];
  const page: SnapshotPage = { events: [], next, read: list.length, rejected: [] };
  for (const o of list) {
    const id = isRecord(o) ? String(o['id']) : '?';
    try {
      if (!isRecord(o)) throw new Error('not an object');
      const version = Date.parse(String(o['updated_at']));
      if (Number.isNaN(version)) throw new Error('no updated_at');
      // A ticket may also arrive through the ticket trigger, whose version has minute resolution: a snapshot
      // within the same minute with other content is then a tie, settled by reading the ticket back.
      const precision = kind === 'zendesk.ticket' ? { versionPrecisionMs: 60_000 } : {};
      page.events.push(
        zendeskSnapshotEvent(
          kind,
          o,
          { eventId: snapshotEventId(id, version), type: `snapshot:${kind}`, version, ...precision },
          keptFields,
        ),
      );
    } catch (err) {
      page.rejected.push({ objectId: id, reason: (err as Error).message });
    }
  }
  return page;
}

export function zendeskSnapshotStreams(client: ZendeskClient, opts: ZendeskStreamOptions): SnapshotStream[] {
  const pace = createPacer(opts.exportsPerMinute ?? 10, opts.sleep, opts.onPace);
  const start = opts.since ? Math.floor(opts.since.getTime() / 1000) : 0;
  const perPage = opts.perPage ?? 1000;

  const byCursor = (name: string, resource: 'users' | 'tickets', kind: ZendeskRefetchKind): SnapshotStream => ({
    name,
    source: 'zendesk',
    async page(cursor) {
      await pace();
      const query: Record<string, string | number> =
        cursor === null ? { start_time: start, per_page: perPage } : { cursor, per_page: perPage };
      const body = await get(client, ['incremental', resource, 'cursor', query]);
      const after = typeof body['after_cursor'] === 'string' ? body['after_cursor'] : null;
      return toPage(kind, body[resource], body['end_of_stream'] === true || after === null ? null : after);
    },
  });

  const organizations: SnapshotStream = {
    name: 'zendesk.organizations',
    source: 'zendesk',
    async page(cursor) {
      await pace();
      const from = cursor === null ? start : Number(cursor);
      const body = await get(client, ['incremental', 'organizations', { start_time: from, per_page: perPage }]);
      const end = Number(body['end_time']);
      // A full page within one second would repeat forever; Zendesk's advice is to move past it.
      const next = body['end_of_stream'] === true || !Number.isFinite(end) ? null : String(end > from ? end : from + 1);
      return toPage('zendesk.organization', body['organizations'], next, opts.keptFields);
    },
  };

  return [
    organizations,
    byCursor('zendesk.users', 'users', 'zendesk.user'),
    byCursor('zendesk.tickets', 'tickets', 'zendesk.ticket'),
  ];
}

/** One organization, fresh: the organization, its users and its tickets (cursor-paged lists), as one page. */
export function zendeskOrganizationStream(
  client: ZendeskClient,
  organizationId: string,
  keptFields: readonly string[] = [],
): SnapshotStream {
  const listAll = async (resource: 'users' | 'tickets'): Promise<unknown[]> => {
    const all: unknown[] = [];
    let after: string | null = null;
    do {
      const body = await get(client, [
        'organizations',
        organizationId,
        resource,
        { 'page[size]': 100, ...(after !== null && { 'page[after]': after }) },
      ]);
      const items = body[resource];
      if (Array.isArray(items)) all.push(...items);
      const meta = body['meta'];
      after =
        isRecord(meta) && meta['has_more'] === true && typeof meta['after_cursor'] === 'string'
          ? meta['after_cursor']
          : null;
    } while (after !== null);
    return all;
  };
  return {
    name: `zendesk.organization.${organizationId}`,
    source: 'zendesk',
    async page() {
      const org = await get(client, ['organizations', organizationId]);
      const pages = [
        toPage('zendesk.organization', [org['organization']], null, keptFields),
        toPage('zendesk.user', await listAll('users'), null),
        toPage('zendesk.ticket', await listAll('tickets'), null),
      ];
      return {
        events: pages.flatMap((p) => p.events),
        next: null,
        read: pages.reduce((n, p) => n + p.read, 0),
        rejected: pages.flatMap((p) => p.rejected),
      };
    },
  };
}
