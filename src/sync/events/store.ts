/**
 * The record store in Redis: one key per record, one index key per identity
 * key, and per record the set of identity keys it owns. Every change is one
 * optimistic transaction (WATCH the index and record keys, compute with the
 * pure planner and merge, MULTI/EXEC; retry when another worker got there
 * first), so two workers updating one customer never lose an update and a
 * merge of two records moves their indexes atomically. A known customer's
 * event costs two round trips (the index and the records it pointed at last,
 * then the transaction), which the applies running at once share: their reads
 * go in one pipeline and their transactions in one MULTI/EXEC (watch-group.ts).
 * One process's events of one customer wait for each other rather than retry
 * (owner-guesses.ts, local-locks.ts).
 */
import { randomUUID } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import {
  isSystemKey,
  planAttribution,
  planIdentity,
  eventIdentityKeys,
  type IdentityConflict,
  type IdentityKey,
  type IdentityPlan,
} from './identity.js';
import { listRefusals, refOfKey, refusalsFor, storeRefusals, type IdentityRefusal } from './identity-refusals.js';
import type { RefusedRef } from './ids.js';
import { applyEvent, mergeRecords } from './merge.js';
import { keyIndexAdding, keyIndexOf, keysKeptApart, partialKeys, systemKeysOf, userKeyCount } from './key-index.js';
import {
  applyBeside,
  isInline,
  isPersonField,
  keepsBeside,
  personField,
  spillPeople,
  withEmailPointers,
  withPeopleBeside,
} from './people.js';
import { CustomerRecordSchema, emptyRecord, type CustomerRecord } from './record.js';
import { LocalLocks } from './local-locks.js';
import { runScript } from '../redis/scripts.js';
import { OwnerGuesses } from './owner-guesses.js';
import type { SourceEvent } from './source-event.js';
import { REDIS_KEYS } from '../redis/keys.js';
import { WatchGroups, type WatchSession } from './watch-group.js';

export interface ApplyOutcome {
  recordId: string;
  changed: boolean;
  record: CustomerRecord;
  previous: CustomerRecord | null;
  mergedIds: string[];
  conflicts: IdentityConflict[];
  tie: ReturnType<typeof applyEvent>['tie'];
  attempts: number;
  /** Ids the event named that linked nothing (its own `refused`, and a portal event's mismatched ids); recorded by the store. */
  refused?: RefusedRef[];
  /** A portal event with no valid id at all: filed nowhere. */
  unattributed?: boolean;
  /**
   * The record now owns a system id it did not (a Stripe customer's metadata naming an Account, a ticket
   * naming an organization): a place to write to, although what the portal shows may not have changed.
   */
  linked?: boolean;
}

class ContentionError extends Error {
  override name = 'ContentionError';
}

const MAX_ATTEMPTS = 100;

/** Replies per candidate record read (readCandidate): record, key index, key set size, probes held, and the person's entry for a person's event. */
const CANDIDATE_READS = (person: string | null) => (person === null ? 4 : 5);
interface CandidateRead {
  raw: string | null;
  hash: Record<string, string>;
  size: number;
  held: number[];
  entry: string | null;
}
const candidateRead = (replies: Array<[Error | null, unknown]>): CandidateRead => {
  const [raw, hash, size, held, entry] = replies.map(([, v]) => v) as [
    string | null,
    Record<string, string> | null,
    number,
    number[] | null,
    string | null | undefined,
  ];
  return { raw, hash: hash ?? {}, size, held: held ?? [], entry: entry ?? null };
};

/** What the reads under WATCH found: the index of the event's keys, the kept-apart pairs, and each candidate record. */
interface CandidateReads {
  owners: Map<IdentityKey, string | null>;
  apart: Set<string>;
  candidateIds: string[];
  loaded: Map<string, CustomerRecord>;
  /** Of each candidate's key set, what planning needs: its system keys and the probed keys it holds (whole when stale). */
  owned: Map<string, Set<IdentityKey>>;
  setSizes: Map<string, number>;
  userCounts: Map<string, number>;
  /** Candidates whose key index an earlier release did not keep. */
  stale: string[];
  besideEntries: Map<string, string | null>;
}

/** What the event changes in the record the plan targets. */
interface Change {
  record: CustomerRecord;
  previous: CustomerRecord | null;
  beside: { stored: string | null; writes: Map<string, string> };
  tie: ApplyOutcome['tie'];
  toClaim: IdentityKey[];
  newKeys: IdentityKey[];
  /** The record itself is rewritten (a person kept beside it changes its hash field alone). */
  recordChanged: boolean;
  changed: boolean;
  /** The stored tie this write settles (a refetch's apply), if any: its entry goes in the same EXEC. */
  settlesTie: TiedObject | null;
}

/** What names a stored tie: the tied event's source, kind and object id (RecordStore.tiesKey). */
type TiedObject = Pick<SourceEvent, 'source' | 'objectId' | 'data'>;

/**
 * How an apply is made: `rank` above the stored entry (a refetch), the tied event whose stored tie it settles, and
 * whether it is a job's retry (an earlier attempt may have stored the record with a write of its EXEC failed: its
 * listing in the customers set is made sure of).
 */
export interface ApplyOptions {
  rank?: number;
  settlesTie?: TiedObject;
  retry?: boolean;
}

export function newRecordId(): string {
  return `cust_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
}

/** How long untold identity changes wait for the outbound emitter (it runs at once, or not at all without subscriptions). */
const UNTOLD_TTL_SECONDS = 7 * 86_400;

export class RecordStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  recordKey(id: string): string {
    return REDIS_KEYS.records(this.prefix).record(id);
  }
  ownedKey(id: string): string {
    return REDIS_KEYS.records(this.prefix).owned(id);
  }
  indexKey(key: IdentityKey): string {
    return REDIS_KEYS.records(this.prefix).index(key);
  }
  get conflictsKey(): string {
    return REDIS_KEYS.records(this.prefix).conflicts;
  }
  /** The conflicts the per-key index holds (set of ids; see conflictsNaming). */
  get conflictsIndexedKey(): string {
    return REDIS_KEYS.records(this.prefix).conflictsIndexed;
  }
  /** The conflicts naming one system key (set of ids; see conflictsNaming). */
  conflictsOfKey(key: IdentityKey): string {
    return REDIS_KEYS.records(this.prefix).conflictsOf(key);
  }

  /** Queues a conflict's write: the conflict, and its ids in the per-key index (conflictsNaming). */
  storeConflict(tx: ChainableCommander, conflict: IdentityConflict): void {
    tx.hset(this.conflictsKey, conflict.id, JSON.stringify(conflict)).sadd(this.conflictsIndexedKey, conflict.id);
    for (const k of conflict.keys) tx.sadd(this.conflictsOfKey(k), conflict.id);
  }

  /** Queues the removal of a settled conflict, from the per-key index too. */
  dropConflict(tx: ChainableCommander, conflict: IdentityConflict): void {
    tx.hdel(this.conflictsKey, conflict.id).srem(this.conflictsIndexedKey, conflict.id);
    for (const k of conflict.keys) tx.srem(this.conflictsOfKey(k), conflict.id);
  }
  /**
   * Identity changes of a record that outbound subscribers have not been told of yet (set of
   * `merged:<record id>` and `conflict:<conflict id>`), written in the same transaction as the
   * change: a job that stores a merge and dies before telling it (its retry finds nothing left to
   * merge) does not lose `customer.merged`. The outbound emitter empties it as it records the events.
   */
  untoldKey(id: string): string {
    return REDIS_KEYS.records(this.prefix).untold(id);
  }
  /** Merges into a record that deflection tracking has not moved sessions for yet (set of record ids): see untoldKey. */
  unmovedKey(id: string): string {
    return REDIS_KEYS.records(this.prefix).unmoved(id);
  }

  /** The record's people past the first MAX_INLINE_PEOPLE (hash: `sfcontact:<id>` / `zduser:<id>` → entry): see people.ts. */
  peopleKey(id: string): string {
    return REDIS_KEYS.records(this.prefix).people(id);
  }

  /** The record's system keys and the size of its key set when they were written (hash): see key-index.ts. */
  keyIndexKey(id: string): string {
    return REDIS_KEYS.records(this.prefix).systemKeys(id);
  }

  /** Records merged into `id` whose deflection state may still sit under their own id. */
  async unmoved(id: string): Promise<string[]> {
    return this.redis.smembers(this.unmovedKey(id));
  }

  async moved(id: string, mergedIds: readonly string[]): Promise<void> {
    if (mergedIds.length > 0) await this.redis.srem(this.unmovedKey(id), ...mergedIds);
  }
  /**
   * Ties stored but not settled yet (hash: source|kind|object id → version), written with the write that made
   * the tie: when the incoming write won, a retry of the job sees nothing tied any more, and a refetch that
   * failed, or a worker that died before it, would leave the tie's arbitrary winner for good.
   */
  get tiesKey(): string {
    return REDIS_KEYS.records(this.prefix).ties;
  }
  private tieField(event: TiedObject): string {
    return `${event.source}|${event.data.kind}|${event.objectId}`;
  }

  /** The version of a tie of this event's object that a job stored and has not settled, if any. */
  async pendingTie(event: SourceEvent): Promise<number | null> {
    const v = await this.redis.hget(this.tiesKey, this.tieField(event));
    return v === null ? null : Number(v);
  }

  /** The tie of this event's object is settled (or can never be). */
  async settledTie(event: SourceEvent): Promise<void> {
    await this.redis.hdel(this.tiesKey, this.tieField(event));
  }
  /** Ids that linked nothing (identity-refusals.ts), for admins: hash of refusal id → JSON. */
  get refusedKey(): string {
    return REDIS_KEYS.records(this.prefix).refused;
  }

  async listRefusals(): Promise<IdentityRefusal[]> {
    return listRefusals(this.redis, this.refusedKey);
  }

  /** Pairs of identity keys an admin unlinked: never merged again by an event. */
  get apartKey(): string {
    return REDIS_KEYS.records(this.prefix).apart;
  }
  /** Audit entries that outlive their record (`identity forget`). */
  get globalAuditKey(): string {
    return REDIS_KEYS.records(this.prefix).globalAudit;
  }
  auditKey(id: string): string {
    return REDIS_KEYS.records(this.prefix).audit(id);
  }
  /** Every record id, kept with the records so that counting customers costs one SCARD. */
  get customersKey(): string {
    return REDIS_KEYS.records(this.prefix).customers;
  }
  /**
   * Lists a stored record in the customers set, if it still exists (one merged away is not listed again). MULTI
   * has no rollback: an apply whose EXEC stored the record and failed the SADD that lists it (a customers set
   * turned into another type) fails and retries, and the retry finds the record stored and writes nothing.
   */
  async listCustomer(id: string): Promise<void> {
    await runScript(this.redis, 'customer-listed', [this.recordKey(id), this.customersKey], [id]);
  }

  /** Every record, read a batch at a time (admin lookups that have no index: by name, invoice number, ticket). */
  async *scanRecords(batch = 500): AsyncGenerator<CustomerRecord> {
    let cursor = '0';
    do {
      const [next, ids] = await this.redis.sscan(this.customersKey, cursor, 'COUNT', batch);
      cursor = next;
      if (ids.length === 0) continue;
      for (const raw of await this.redis.mget(...ids.map((id) => this.recordKey(id))))
        if (raw !== null) yield JSON.parse(raw) as CustomerRecord;
    } while (cursor !== '0');
  }

  /**
   * `trusted`: parsed without re-validation, as the transactions read it (records are written only
   * by this store); for hot read paths such as the customer's own view, where validation costs more
   * than everything else the request does.
   */
  async get(id: string, opts: { trusted?: boolean } = {}): Promise<CustomerRecord | null> {
    const raw = await this.redis.get(this.recordKey(id));
    if (raw === null) return null;
    return opts.trusted ? (JSON.parse(raw) as CustomerRecord) : CustomerRecordSchema.parse(JSON.parse(raw));
  }

  /**
   * The whole customer: the record with the people kept beside it put back in (its stored projection
   * as it is). What a reader of one customer wants; `get` is the record alone, which is what pushes use.
   */
  async getFull(id: string): Promise<CustomerRecord | null> {
    const [record, beside] = await Promise.all([this.get(id), this.redis.hgetall(this.peopleKey(id))]);
    return record === null ? null : withPeopleBeside(record, beside);
  }

  /** The record an identity key points at (`stripe:cus_…`, `email:…`, `zdorg:…`…). */
  async findByKey(key: IdentityKey, opts: { trusted?: boolean } = {}): Promise<CustomerRecord | null> {
    const id = await this.redis.get(this.indexKey(key));
    return id === null ? null : this.get(id, opts);
  }

  /** The keys of Stripe customer `customerId` in every account (`stripe:<acct_…>:cus_…`): an admin lookup by SCAN, not the hot path. */
  async stripeKeysOf(customerId: string): Promise<IdentityKey[]> {
    const found = new Set<IdentityKey>();
    const at = this.indexKey('').length;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(
        cursor,
        'MATCH',
        this.indexKey(`stripe:acct_*:${customerId.replace(/[*?[\\]/g, '\\$&')}`),
        'COUNT',
        1000,
      );
      for (const k of keys) found.add(k.slice(at));
      cursor = next;
    } while (cursor !== '0');
    return [...found].sort();
  }

  async ownedKeys(id: string): Promise<string[]> {
    return (await this.redis.smembers(this.ownedKey(id))).sort();
  }

  /**
   * The record's system keys (`stripe:`, `sfacct:`, `zdorg:`), sorted: from its key index (key-index.ts), a few
   * fields whatever the number of contacts; a set the index does not match (written by an earlier release) is
   * read whole, as ownedKeys does.
   */
  async systemKeys(id: string): Promise<string[]> {
    return (await this.indexedKeys(id)).system;
  }

  /** The record's system keys and how many Zendesk user keys it holds (null: not known, the set was read for the keys). */
  private async indexedKeys(id: string): Promise<{ system: string[]; userKeys: string[] | null; users: number }> {
    const replies = (await this.redis.pipeline().hgetall(this.keyIndexKey(id)).scard(this.ownedKey(id)).exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    const hash = (replies[0]?.[1] as Record<string, string> | undefined) ?? {};
    const indexed = systemKeysOf(hash, Number(replies[1]?.[1] ?? 0));
    if (indexed) return { system: [...indexed].sort(), userKeys: null, users: userKeyCount(hash) };
    const all = await this.ownedKeys(id);
    const userKeys = all.filter((k) => k.startsWith('zduser:'));
    return { system: all.filter(isSystemKey), userKeys, users: userKeys.length };
  }

  /**
   * The identity keys a push needs of the record (push/worker.ts's linksFor): its system keys, and its Zendesk
   * user keys only when nothing else names the place to write in Zendesk (no organization, no user among the
   * record's contacts) and it has any — then the first of them is that place. The whole key set, which grows
   * with the customer's contacts, is read only then (or when the index does not match it).
   */
  async linkKeys(record: CustomerRecord): Promise<string[]> {
    const { system, userKeys, users } = await this.indexedKeys(record.id);
    const links = record.derived.links;
    const placed =
      links.zendeskOrganizationId !== null ||
      system.some((k) => k.startsWith('zdorg:')) ||
      links.contacts.some((c) => c.zendeskUserId !== null);
    if (placed || users === 0) return system;
    return [
      ...system,
      ...(userKeys ?? (await this.ownedKeys(record.id)).filter((k) => k.startsWith('zduser:'))),
    ].sort();
  }

  /**
   * The entries of these people (`sfcontact:<id>`, `zduser:<id>`) kept beside the record (people.ts), null for one
   * it does not keep there; for an `email:<normalized>` field, the entry of the person its pointer names (emailPointer).
   */
  async peopleBeside(id: string, fields: readonly string[]): Promise<Map<string, string | null>> {
    if (fields.length === 0) return new Map();
    return this.followPointers(id, fields, await this.redis.hmget(this.peopleKey(id), ...fields));
  }

  /** `values` read for `fields` of the record's people hash, with each email pointer replaced by the entry it names. */
  async followPointers(
    id: string,
    fields: readonly string[],
    values: ReadonlyArray<string | null>,
  ): Promise<Map<string, string | null>> {
    const found = new Map(fields.map((f, i) => [f, values[i] ?? null]));
    const pointers = fields.filter((f) => !isPersonField(f) && found.get(f) !== null);
    if (pointers.length === 0) return found;
    const entries = await this.redis.hmget(this.peopleKey(id), ...pointers.map((f) => found.get(f)!));
    pointers.forEach((f, i) => found.set(f, entries[i] ?? null));
    return found;
  }

  /** Every stored conflict, sorted by id: for admins (one HVALS of them all). A customer's own are conflictsNaming's. */
  async listConflicts(): Promise<IdentityConflict[]> {
    const all = await this.redis.hvals(this.conflictsKey);
    return all.map((c) => JSON.parse(c) as IdentityConflict).sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * The stored conflicts naming any of `keys` (system keys), sorted by id, read through the per-key index: what
   * one customer's reader needs (the view, on every page load) costs the same whatever the number of conflicts
   * of other customers. While the index does not count every stored conflict (an earlier release stored some
   * without it, until indexConflicts adds them), they are all read and filtered: never one missed.
   */
  async conflictsNaming(keys: readonly IdentityKey[]): Promise<IdentityConflict[]> {
    if (keys.length === 0) return [];
    const replies =
      (await this.redis
        .pipeline()
        .hlen(this.conflictsKey)
        .scard(this.conflictsIndexedKey)
        .sunion(...keys.map((k) => this.conflictsOfKey(k)))
        .exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    const [stored, indexed, ids] = replies.map(([, v]) => v) as [number, number, string[]];
    const naming = (c: IdentityConflict) => c.keys.some((k) => keys.includes(k));
    if (stored === 0) return [];
    if (indexed < stored) return (await this.listConflicts()).filter(naming);
    if (ids.length === 0) return [];
    const found = await this.redis.hmget(this.conflictsKey, ...ids);
    return found
      .filter((c): c is string => c !== null)
      .map((c) => JSON.parse(c) as IdentityConflict)
      .filter(naming)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Puts the conflicts an earlier release stored without the per-key index into it (a worker does so as it
   * starts); one HLEN and SCARD when there are none. Returns how many it added.
   */
  async indexConflicts(batch = 500): Promise<number> {
    const [stored, indexed] = await Promise.all([
      this.redis.hlen(this.conflictsKey),
      this.redis.scard(this.conflictsIndexedKey),
    ]);
    if (indexed >= stored) return 0;
    let added = 0;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.conflictsKey, cursor, 'COUNT', batch);
      cursor = next;
      const conflicts: IdentityConflict[] = [];
      for (let i = 1; i < flat.length; i += 2) conflicts.push(JSON.parse(flat[i]!) as IdentityConflict);
      if (conflicts.length === 0) continue;
      const known = await this.redis.smismember(this.conflictsIndexedKey, ...conflicts.map((c) => c.id));
      const tx = this.redis.multi();
      conflicts.forEach((c, i) => {
        if (known[i] === 1) return;
        tx.sadd(this.conflictsIndexedKey, c.id);
        for (const k of c.keys) tx.sadd(this.conflictsOfKey(k), c.id);
        added += 1;
      });
      await tx.exec();
    } while (cursor !== '0');
    return added;
  }

  async apply(event: SourceEvent, opts: ApplyOptions = {}): Promise<ApplyOutcome> {
    // One customer's applies in this process wait for each other (the locks: its keys, and the record they
    // last pointed at) instead of racing their transactions; other processes are still met by WATCH.
    const keys = eventIdentityKeys(event);
    const release = await this.locks.acquire([
      ...keys.map((k) => `k:${k}`),
      ...this.owners.guess(keys).map((id) => `r:${id}`),
    ]);
    try {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        // WATCH state belongs to a connection: each attempt joins a group of applies sharing one (watch-group.ts).
        const session = this.groups.join();
        const outcome = await this.tryApply(session, event, opts, attempt).finally(() => session.leave());
        if (outcome) {
          // The keys the event linked by (a portal event's mismatched ids are not among them).
          const mismatched = new Set(
            (outcome.refused ?? []).filter((r) => r.reason === 'mismatch').map((r) => `${r.ref}|${r.value}`),
          );
          const linkedBy = keys.filter((k) => !mismatched.has(`${refOfKey(k).ref}|${refOfKey(k).value}`));
          await storeRefusals(
            this.redis,
            this.refusedKey,
            refusalsFor(event, linkedBy, outcome.unattributed ? null : outcome.recordId, outcome.refused ?? []),
          );
          if (opts.retry && !outcome.unattributed) await this.listCustomer(outcome.recordId);
          return outcome;
        }
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
      }
      throw new ContentionError(
        `record for ${event.source} event ${event.eventId} changed under us ${MAX_ATTEMPTS} times`,
      );
    } finally {
      release();
    }
  }

  private readonly locks = new LocalLocks();
  /** Which record each identity key pointed at when last read or written here: a guess, never trusted (see tryApply). */
  private readonly owners = new OwnerGuesses();
  /** The kept-apart pairs as last read (they change only by an admin's unlink). */
  private apartGuess: string[] = [];

  private readonly free: Redis[] = [];
  private closed = false;
  private readonly groups = new WatchGroups({
    acquire: () => this.free.pop() ?? this.duplicate(),
    release: (conn) => (this.closed ? conn.disconnect() : this.free.push(conn)),
  });

  /** Its failures reach the caller as rejected commands; without a listener ioredis would also print each one to stderr, outside the JSON log. */
  private duplicate(): Redis {
    const conn = this.redis.duplicate();
    conn.on('error', () => undefined);
    return conn;
  }

  /** How the applies shared their transactions so far (watch-group.ts): for benches and tests. */
  get transactionStats(): Readonly<WatchGroups['stats']> {
    return this.groups.stats;
  }

  /** Closes the transaction connections (the shared one belongs to the caller). */
  close(): void {
    this.closed = true;
    for (const c of this.free.splice(0)) c.disconnect();
  }

  /**
   * Watches and reads what is kept beside the records: the entry of the event's person (when the
   * record does not hold it; without a merge, the entry read with the candidate records), and every
   * person of the records a merge takes in (merges are rare; an identity key belongs to one record,
   * so one person is never beside two of them).
   */
  private async readBeside(
    conn: WatchSession,
    targetId: string,
    mergeIds: readonly string[],
    record: CustomerRecord,
    field: string | null,
    prefetched: ReadonlyMap<string, string | null>,
  ): Promise<{ stored: string | null; writes: Map<string, string> }> {
    const wantsPerson = field !== null && !isInline(record, field);
    const writes = new Map<string, string>();
    if (!wantsPerson && mergeIds.length === 0) return { stored: null, writes };
    // Read (and watched) with the candidate records; a new record has no people beside it yet.
    if (mergeIds.length === 0) return { stored: prefetched.get(targetId) ?? null, writes };
    const read = conn.pipeline().watch(this.peopleKey(targetId), ...mergeIds.map((id) => this.peopleKey(id)));
    if (field !== null && wantsPerson) read.hget(this.peopleKey(targetId), field);
    for (const id of mergeIds) read.hgetall(this.peopleKey(id));
    const replies = (await read.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    const stored = wantsPerson ? ((replies[1]?.[1] as string | null | undefined) ?? null) : null;
    for (const [, reply] of replies.slice(wantsPerson ? 2 : 1))
      for (const [f, v] of Object.entries((reply as Record<string, string> | null) ?? {})) writes.set(f, v);
    return { stored, writes };
  }

  /** The keys a candidate record's read watches: its record, key set, key index and, for a person's event, its people. */
  private candidateKeys(id: string, person: string | null): string[] {
    return [
      this.recordKey(id),
      this.ownedKey(id),
      this.keyIndexKey(id),
      ...(person === null ? [] : [this.peopleKey(id)]),
    ];
  }

  /** Queues a candidate's reads (CANDIDATE_READS replies, candidateRead decodes them). */
  private readCandidate(
    pipeline: ReturnType<Redis['pipeline']>,
    id: string,
    probes: readonly IdentityKey[],
    person: string | null,
  ): void {
    pipeline
      .get(this.recordKey(id))
      .hgetall(this.keyIndexKey(id))
      .scard(this.ownedKey(id))
      .smismember(this.ownedKey(id), ...probes);
    if (person !== null) pipeline.hget(this.peopleKey(id), person);
  }

  /** The whole key sets of these records (watched by the caller). */
  private async readKeySets(conn: WatchSession, ids: readonly string[]): Promise<Map<string, Set<IdentityKey>>> {
    const sets = new Map<string, Set<IdentityKey>>();
    if (ids.length === 0) return sets;
    const read = conn.pipeline();
    for (const id of ids) read.smembers(this.ownedKey(id));
    const replies = (await read.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    ids.forEach((id, i) => sets.set(id, new Set((replies[i]?.[1] as string[] | undefined) ?? [])));
    return sets;
  }

  private async tryApply(
    conn: WatchSession,
    event: SourceEvent,
    opts: ApplyOptions,
    attempt: number,
  ): Promise<ApplyOutcome | null> {
    const keys = eventIdentityKeys(event);
    if (keys.length === 0) {
      // Only a portal event can name no valid id (every other event has its own object's): nothing to file it under.
      return {
        recordId: '',
        changed: false,
        record: emptyRecord(''),
        previous: null,
        mergedIds: [],
        conflicts: [],
        tie: null,
        attempts: attempt,
        refused: [...(event.refused ?? [])],
        unattributed: true,
      };
    }
    const person = personField(event);
    const read = await this.readCandidates(conn, keys, person);
    const { plan, refused } = this.planFor(event, read);
    const change = await this.changeFor(conn, event, opts, plan, read, person);
    if (!change.changed && change.newKeys.length === 0 && plan.conflicts.length === 0) {
      await conn.unwatch();
      return {
        recordId: plan.targetId,
        changed: false,
        record: change.record,
        previous: change.previous,
        mergedIds: [],
        conflicts: [],
        tie: change.tie,
        attempts: attempt,
        refused,
      };
    }
    const moved = await this.write(conn, event, plan, read, change);
    if (moved === null) return null; // a watched key changed: recompute from fresh state
    this.owners.claimed(change.toClaim, plan.targetId, moved);
    return {
      recordId: plan.targetId,
      changed: change.changed,
      record: change.record,
      previous: change.previous,
      mergedIds: plan.mergeIds,
      conflicts: plan.conflicts,
      tie: change.tie,
      attempts: attempt,
      refused,
      linked: change.newKeys.some(isSystemKey),
    };
  }

  /**
   * Round trips 1 and 2: watches and reads the index entries of the event's keys, the kept-apart pairs and every
   * record they point at (with its system keys, key-set size, the keys planning asks about and, for a person's
   * event, the person's entry beside it).
   */
  private async readCandidates(
    conn: WatchSession,
    keys: IdentityKey[],
    person: string | null,
  ): Promise<CandidateReads> {
    const indexKeys = keys.map((k) => this.indexKey(k));
    // Round trip 1: watch the index keys and read them (a pipeline runs WATCH before the reads) and, in the same
    // round trip, watch and read the records these keys pointed at last time (the guess): when the index still
    // says so (the common case: a known customer), the event needs no second read. Everything planning uses
    // is read under WATCH either way; a wrong guess costs a second round trip, or a retry, never a wrong write.
    const guessed = this.owners.guess(keys);
    const guessedProbes = [...new Set([...keys, ...keysKeptApart(this.apartGuess)])];
    const first = conn
      .pipeline()
      .watch(...indexKeys, this.apartKey, ...guessed.flatMap((id) => this.candidateKeys(id, person)))
      .smembers(this.apartKey)
      .mget(...indexKeys);
    for (const id of guessed) this.readCandidate(first, id, guessedProbes, person);
    const replies = (await first.exec()) ?? [];
    const failed = replies.find(([err]) => err);
    if (failed) throw failed[0];
    const apart = new Set((replies[1]?.[1] as string[] | undefined) ?? []);
    this.apartGuess = [...apart];
    const ownerIds = (replies[2]?.[1] as Array<string | null> | undefined) ?? [];
    const owners = new Map(keys.map((k, i) => [k, ownerIds[i] ?? null]));
    this.owners.note(owners);
    const candidateIds = [...new Set(ownerIds.filter((id): id is string => !!id))];
    const probes = [...new Set([...keys, ...keysKeptApart(apart)])];
    // The guess read every probe planning asks about (more is harmless: a true answer about the set).
    const probedAll = probes.every((k) => guessedProbes.includes(k));
    const reads = new Map<string, CandidateRead>();
    guessed.forEach((id, i) => {
      if (probedAll)
        reads.set(
          id,
          candidateRead(replies.slice(3 + CANDIDATE_READS(person) * i, 3 + CANDIDATE_READS(person) * (i + 1))),
        );
    });
    // Round trip 2, for candidates the guess missed: watch each record and read it, its system keys and, of its
    // whole key set (two keys per contact: it grows with the customer), only whether it holds the keys planning asks about.
    const missing = candidateIds.filter((id) => !reads.has(id));
    if (missing.length > 0) {
      const read = conn.pipeline().watch(...missing.flatMap((id) => this.candidateKeys(id, person)));
      for (const id of missing) this.readCandidate(read, id, probes, person);
      const more = (await read.exec()) ?? [];
      const readFailed = more.find(([err]) => err);
      if (readFailed) throw readFailed[0];
      missing.forEach((id, i) =>
        reads.set(
          id,
          candidateRead(more.slice(1 + CANDIDATE_READS(person) * i, 1 + CANDIDATE_READS(person) * (i + 1))),
        ),
      );
    }
    const loaded = new Map<string, CustomerRecord>();
    const owned = new Map<string, Set<IdentityKey>>();
    const setSizes = new Map<string, number>();
    const userCounts = new Map<string, number>();
    const stale: string[] = [];
    const besideEntries = new Map<string, string | null>();
    const probesRead = probedAll ? guessedProbes : probes;
    for (const id of candidateIds) {
      const { raw, hash, size, held, entry } = reads.get(id)!;
      if (person !== null) besideEntries.set(id, entry);
      // Written only by this store: parsed without re-validation, which costs more than the merge on large records.
      if (raw) loaded.set(id, JSON.parse(raw) as CustomerRecord);
      setSizes.set(id, size);
      const system = systemKeysOf(hash, size);
      if (system === null) stale.push(id);
      else {
        // A candidate read by round trip 2 was asked about `probes`; one read with the guess, about `guessedProbes`.
        owned.set(id, partialKeys(system, missing.includes(id) ? probes : probesRead, held));
        userCounts.set(id, userKeyCount(hash));
      }
    }
    // A key index an earlier release (or an older worker) did not keep: the whole set, once; the write below rebuilds it.
    for (const [id, keys] of await this.readKeySets(conn, stale)) owned.set(id, keys);
    return { owners, apart, candidateIds, loaded, owned, setSizes, userCounts, stale, besideEntries };
  }

  /** Which record the event lands in, which it merges and which keys it claims: attribution for portal activity, identity for the rest. */
  private planFor(event: SourceEvent, read: CandidateReads): { plan: IdentityPlan; refused: RefusedRef[] } {
    const { owners, owned, apart } = read;
    let plan: IdentityPlan;
    const refused: RefusedRef[] = [...(event.refused ?? [])];
    if (event.source === 'portal') {
      // Activity attributes, it never links: filed under the record of its strongest id, or nowhere.
      const attribution = planAttribution(event, owners);
      for (const k of attribution.mismatched) refused.push({ ...refOfKey(k), reason: 'mismatch' });
      // Known: that customer's record, nothing claimed. Unknown: a record of its own holding its strongest id alone.
      plan =
        attribution.targetId === null
          ? {
              targetId: newRecordId(),
              mergeIds: [],
              conflicts: [],
              claimKeys: attribution.strongest ? [attribution.strongest] : [],
            }
          : { targetId: attribution.targetId, mergeIds: [], conflicts: [], claimKeys: [] };
    } else plan = planIdentity(event, owners, owned, newRecordId(), apart);
    return { plan, refused };
  }

  /**
   * The record after the event (and the merges the plan makes), the people to write beside it, and the keys to
   * claim. Round trip 3, only for a merge: the people kept beside the merged records.
   */
  private async changeFor(
    conn: WatchSession,
    event: SourceEvent,
    opts: ApplyOptions,
    plan: IdentityPlan,
    read: CandidateReads,
    person: string | null,
  ): Promise<Change> {
    const { loaded, owned, owners, besideEntries } = read;
    const previous = loaded.get(plan.targetId) ?? null;
    let record = previous ?? emptyRecord(plan.targetId);
    for (const id of plan.mergeIds) {
      const other = loaded.get(id);
      if (other) record = mergeRecords(record, other, plan.targetId);
    }
    // People kept beside the records (people.ts): round trip 3, only for a merge.
    const beside = await this.readBeside(conn, plan.targetId, plan.mergeIds, record, person, besideEntries);
    const spill = spillPeople(record);
    record = spill.record;
    for (const [field, value] of spill.spilled) beside.writes.set(field, value);
    const field = personField(event);
    // The person may have just moved beside the record (spilled, or taken in by the merge).
    const stored = field === null ? null : (beside.writes.get(field) ?? beside.stored);
    const aside = field !== null && keepsBeside(record, field, stored);
    const applied = aside
      ? { ...applyBeside(plan.targetId, field, stored, event, opts), record }
      : { ...applyEvent(record, event, opts), value: null };
    if (field !== null && applied.value !== null && applied.changed) beside.writes.set(field, applied.value);
    record = applied.record;
    const known = owned.get(plan.targetId) ?? new Set<IdentityKey>();
    const newKeys = plan.claimKeys.filter((k) => !known.has(k));
    // Only what changes is written: a key the target owns already, whose index (as this event read it) points
    // at the target, needs no write. Rewriting every owned key on each event made a customer's events cost
    // more the more contacts it had.
    const toClaim = plan.claimKeys.filter((k) => !known.has(k) || (owners.has(k) && owners.get(k) !== plan.targetId));
    // A person kept beside the record changes its hash field alone: the record (and its projection) stays as stored.
    const recordChanged =
      (applied.changed && !aside) || plan.mergeIds.length > 0 || previous === null || spill.spilled.length > 0;
    const changed = applied.changed || recordChanged;

    const settlesTie = applied.tie ? null : (opts.settlesTie ?? null);
    return { record, previous, beside, tie: applied.tie, toClaim, newKeys, recordChanged, changed, settlesTie };
  }

  /**
   * The transaction (EXEC fails when a watched key changed since it was read): the record, its people, claimed
   * keys and their index, and for a merge every key, set and lane the merged records held. Returns the keys the
   * merged records moved, or null when a watched key changed.
   */
  private async write(
    conn: WatchSession,
    event: SourceEvent,
    plan: IdentityPlan,
    read: CandidateReads,
    change: Change,
  ): Promise<IdentityKey[] | null> {
    const { owned, setSizes, userCounts, stale } = read;
    const { record, beside, toClaim, newKeys, recordChanged, previous } = change;
    const newConflicts = plan.conflicts;
    // A merge moves every key of the merged records, and the target's index counts them all: their whole sets (merges are rare).
    const whole =
      plan.mergeIds.length > 0
        ? await this.readKeySets(conn, [plan.targetId, ...plan.mergeIds])
        : new Map<string, Set<IdentityKey>>();
    const tx = conn.multi();
    // As bytes: ioredis joins a transaction's string arguments into one string that the socket write then copies
    // and encodes again; a Buffer is written as it is (a 9 kB record: about half the client CPU of its write).
    if (recordChanged) tx.set(this.recordKey(plan.targetId), Buffer.from(JSON.stringify(record)));
    if (beside.writes.size > 0)
      tx.hset(this.peopleKey(plan.targetId), Object.fromEntries(withEmailPointers(beside.writes)));
    if (change.tie) tx.hset(this.tiesKey, this.tieField(event), String(change.tie.version));
    else if (change.settlesTie) tx.hdel(this.tiesKey, this.tieField(change.settlesTie));
    if (toClaim.length > 0) tx.sadd(this.ownedKey(plan.targetId), ...toClaim);
    for (const k of toClaim) tx.set(this.indexKey(k), plan.targetId);
    if (plan.mergeIds.length > 0 || stale.includes(plan.targetId)) {
      const all = new Set([
        ...(whole.get(plan.targetId) ?? owned.get(plan.targetId) ?? []),
        ...plan.mergeIds.flatMap((id) => [...(whole.get(id) ?? [])]),
        ...toClaim,
      ]);
      tx.del(this.keyIndexKey(plan.targetId)).hset(this.keyIndexKey(plan.targetId), keyIndexOf(all));
    } else if (newKeys.length > 0)
      tx.hset(
        this.keyIndexKey(plan.targetId),
        keyIndexAdding(setSizes.get(plan.targetId) ?? 0, userCounts.get(plan.targetId) ?? 0, newKeys),
      );
    for (const id of plan.mergeIds) {
      for (const k of whole.get(id) ?? []) {
        tx.set(this.indexKey(k), plan.targetId);
        tx.sadd(this.ownedKey(plan.targetId), k);
      }
      tx.sunionstore(this.untoldKey(plan.targetId), this.untoldKey(plan.targetId), this.untoldKey(id));
      tx.sunionstore(this.unmovedKey(plan.targetId), this.unmovedKey(plan.targetId), this.unmovedKey(id));
      tx.del(
        this.recordKey(id),
        this.ownedKey(id),
        this.keyIndexKey(id),
        this.untoldKey(id),
        this.unmovedKey(id),
        this.peopleKey(id),
      );
    }
    if (plan.mergeIds.length > 0)
      tx.sadd(this.unmovedKey(plan.targetId), ...plan.mergeIds).expire(
        this.unmovedKey(plan.targetId),
        UNTOLD_TTL_SECONDS,
      );
    const untold = [...plan.mergeIds.map((id) => `merged:${id}`), ...newConflicts.map((c) => `conflict:${c.id}`)];
    if (untold.length > 0)
      tx.sadd(this.untoldKey(plan.targetId), ...untold).expire(this.untoldKey(plan.targetId), UNTOLD_TTL_SECONDS);
    if (previous === null) tx.sadd(this.customersKey, plan.targetId);
    if (plan.mergeIds.length > 0) tx.srem(this.customersKey, ...plan.mergeIds);
    for (const c of newConflicts) this.storeConflict(tx, c);
    const result = await tx.exec();
    if (result === null) return null;
    // EXEC runs every write; one that failed (a key of the wrong type) must not pass for a stored change.
    const failed = result.find(([err]) => err);
    if (failed) throw failed[0];
    return plan.mergeIds.flatMap((id) => [...(whole.get(id) ?? [])]);
  }
}
