/**
 * The customer view's Redis work in one round trip in the usual case: a Lua script
 * (redis/scripts/view-read-4+.lua), every key it touches declared, counts the request against the viewer's per-user budget (rate-limit.ts's key,
 * INCR and PEXPIRE NX), reads the viewer's identity index keys in order (view.ts's viewerKeys),
 * says whether any identity conflict is stored, and — when the record the index names first is
 * the one this process last resolved the viewer to — reads that record too, with the viewer's
 * entries kept beside it (people past the record's inline bound, people.ts), all at one instant.
 * Otherwise (the viewer's first read here, or a merge or move since) the record is read by the id
 * the script returned, a second round trip, exactly as resolve.ts's resolveViewer reads it.
 *
 * The remembered record id is a guess the script checks against the index, never an answer: what
 * is returned is always the record the index names at that instant, judged by resolve.ts (holds
 * the viewer as its own contact; no newer copy of them in a conflicting record). A budget already
 * spent reads nothing.
 *
 * Parsing the stored record costs more than everything else a view request does (a customer with a
 * year of invoices is ~25 kB of JSON), so the parsed record, and the view body written for each of
 * its viewers, are kept per record id while the stored bytes are exactly the bytes read (compared
 * whole, never by a hash): any change to the record is a new parse. Bounded by the JSON kept.
 */
import type { Redis } from 'ioredis';
import { runScript } from '../redis/scripts.js';
import type { RecordStore } from '../events/store.js';
import type { CustomerRecord } from '../events/record.js';
import { RATE_KEY_TTL_MS, type RateVerdict, type ViewRateLimiter } from './rate-limit.js';
import { judgeFound, personKeys, type Resolution } from './resolve.js';
import { customerView, viewerKeys, type Viewer, type ViewBrand, type ViewOptions } from './view.js';

type ReadReply = [
  count: number,
  conflicts?: number,
  guessed?: string | null,
  beside?: Array<string | null> | null,
  ...ids: Array<string | null>,
];

export type ViewRead =
  | { kind: 'limited'; verdict: Extract<RateVerdict, { allowed: false }> }
  /** The viewer's customer, and the view of it for this viewer as JSON (customerView, serialized). */
  | (Extract<Resolution, { kind: 'customer' }> & { body: string })
  | Extract<Resolution, { kind: 'none' }>;

export interface ViewReaderOptions {
  /** Viewers whose record id is remembered (least recently resolved forgotten first). */
  maxRemembered?: number;
  /** Stored record JSON, and view JSON, kept (characters; least recently read forgotten first). Parsed, a record takes a few times its JSON. */
  maxParsedBytes?: number;
}

/** A record as parsed from exactly `raw`, and the view bodies written from it, by viewer. */
interface Parsed {
  id: string;
  raw: string;
  record: CustomerRecord;
  bodies: Map<string, string>;
  /** What it counts against the bound: the stored JSON and the bodies' JSON, in characters. */
  size: number;
}

const MAX_BODIES_PER_RECORD = 64;

export class ViewReader {
  /** Zendesk user id → the record id last resolved for them: the script's guess. */
  private readonly lastRecord = new Map<string, string>();
  private readonly maxRemembered: number;
  /** Record id → its parse, least recently read first. */
  private readonly parsed = new Map<string, Parsed>();
  private parsedBytes = 0;
  private readonly maxParsedBytes: number;

  constructor(
    private readonly redis: Redis,
    private readonly store: RecordStore,
    private readonly limiter: ViewRateLimiter,
    private readonly viewOptions: ViewOptions,
    opts: ViewReaderOptions = {},
  ) {
    this.maxRemembered = opts.maxRemembered ?? 10_000;
    this.maxParsedBytes = opts.maxParsedBytes ?? 16 * 1024 * 1024;
  }

  /** Counts the request and resolves the viewer's customer (resolve.ts's rules), or says the budget is spent. */
  async read(viewer: Viewer, now = Date.now(), brand: ViewBrand | null = null): Promise<ViewRead> {
    const keys = viewerKeys(viewer);
    const windowStart = this.limiter.windowStart(now);
    const guess = this.lastRecord.get(viewer.zendeskUserId) ?? '';
    const people = personKeys(keys);
    const declared: [string, string, string, string, ...string[]] = [
      this.limiter.key(viewer.zendeskUserId, windowStart),
      this.store.conflictsKey,
      this.store.recordKey(guess),
      this.store.peopleKey(guess),
      ...keys.map((k) => this.store.indexKey(k)),
    ];
    const [count, conflicts, guessed, guessedBeside, ...ids] = (await runScript(this.redis, 'view-read', declared, [
      RATE_KEY_TTL_MS,
      this.limiter.perMinute,
      guess,
      ...people,
    ])) as ReadReply;
    const verdict = this.limiter.verdict(Number(count), windowStart, now);
    if (!verdict.allowed) return { kind: 'limited', verdict };
    const mayConflict = Number(conflicts) > 0;

    let found: { parsed: Parsed; key: string; beside: Map<string, string | null> } | null = null;
    const first = ids.findIndex((id) => id !== null);
    // The viewer's entries kept beside the record (people past its inline bound), read with it.
    const besideOf = (values: ReadonlyArray<string | null | false> | null | undefined) =>
      new Map(people.map((f, i) => [f, values?.[i] || null]));
    if (guessed) found = { parsed: this.parse(guess, guessed), key: keys[first]!, beside: besideOf(guessedBeside) };
    else {
      // As resolveViewer: the first key whose record exists decides.
      for (const [i, id] of ids.entries()) {
        if (id === null) continue;
        const read = this.redis.pipeline().get(this.store.recordKey(id));
        if (people.length > 0) read.hmget(this.store.peopleKey(id), ...people);
        const replies = (await read.exec()) ?? [];
        const failed = replies.find(([err]) => err);
        if (failed) throw failed[0];
        const raw = replies[0]?.[1] as string | null;
        if (raw !== null) {
          const beside =
            people.length > 0
              ? await this.store.followPointers(id, people, (replies[1]?.[1] as Array<string | null> | undefined) ?? [])
              : new Map<string, string | null>();
          found = { parsed: this.parse(id, raw), key: keys[i]!, beside };
          break;
        }
      }
    }
    if (found === null) {
      this.lastRecord.delete(viewer.zendeskUserId);
      return { kind: 'none', reason: 'unknown_user' };
    }
    const { parsed, key, beside } = found;
    this.remember(viewer.zendeskUserId, parsed.record.id);
    const judged = await judgeFound(this.store, viewer, parsed.record, key, mayConflict, beside);
    return judged.kind === 'customer' ? { ...judged, body: this.body(parsed, viewer, brand) } : judged;
  }

  /** The record stored as `raw` under `id`: the earlier parse when the bytes are the same, else a new one. */
  private parse(id: string, raw: string): Parsed {
    const kept = this.parsed.get(id);
    if (kept) this.drop(kept);
    const parsed =
      kept && kept.raw === raw
        ? kept
        : { id, raw, record: JSON.parse(raw) as CustomerRecord, bodies: new Map<string, string>(), size: raw.length };
    this.keep(parsed);
    return parsed;
  }

  /** The viewer's view of the parsed record, as JSON: customerView is pure, so one body per record bytes and viewer. */
  private body(parsed: Parsed, viewer: Viewer, brand: ViewBrand | null): string {
    const who = `${viewer.zendeskUserId}\u0000${viewer.externalId ?? ''}\u0000${viewer.email ?? ''}\u0000${brand?.id ?? ''}`;
    const written = parsed.bodies.get(who);
    if (written !== undefined) return written;
    const body = JSON.stringify(customerView(parsed.record, viewer, this.viewOptions, brand));
    const kept = this.parsed.get(parsed.id) === parsed;
    if (kept) this.drop(parsed);
    if (parsed.bodies.size >= MAX_BODIES_PER_RECORD) {
      parsed.bodies.clear();
      parsed.size = parsed.raw.length;
    }
    parsed.bodies.set(who, body);
    parsed.size += body.length;
    if (kept) this.keep(parsed);
    return body;
  }

  private drop(parsed: Parsed): void {
    this.parsed.delete(parsed.id);
    this.parsedBytes -= parsed.size;
  }

  /** Kept as the most recently read, the least recently read forgotten past the bound. */
  private keep(parsed: Parsed): void {
    if (parsed.size > this.maxParsedBytes) return;
    this.parsed.set(parsed.id, parsed);
    this.parsedBytes += parsed.size;
    for (const oldest of this.parsed.values()) {
      if (this.parsedBytes <= this.maxParsedBytes) break;
      this.drop(oldest);
    }
  }

  private remember(userId: string, recordId: string): void {
    this.lastRecord.delete(userId);
    if (this.lastRecord.size >= this.maxRemembered)
      this.lastRecord.delete(this.lastRecord.keys().next().value as string);
    this.lastRecord.set(userId, recordId);
  }
}
