/**
 * Every Redis key and BullMQ queue name of portal-sync, built in one typed table. `REDIS_KEYS.<part>(prefix)`
 * gives one part's keys (built once per prefix and kept); QUEUE_NAMES the queues, which BullMQ
 * prefixes itself (`<prefix>:<queue>:…`). One Redis primary holds them all (not Redis Cluster: an identity
 * merge moves several customers' keys in one transaction), so no key needs a hash tag.
 */
import type { PortalTargetName } from '../target-names.js';

/** The BullMQ queues: events in, pushes per portal target, deflection, one outbound queue per subscription, the reconciler. */
export const QUEUE_NAMES = {
  events: 'events',
  push: (target: PortalTargetName): `push-${PortalTargetName}` => `push-${target}`,
  deflection: 'deflection',
  outbound: (subscriptionId: string): `outbound-${string}` => `outbound-${subscriptionId}`,
  reconcile: 'reconcile',
} as const;

/** A queue's name as QUEUE_NAMES gives it; the only kind of name `openQueue` (sync/queues.ts) takes. */
export type QueueName =
  | typeof QUEUE_NAMES.events
  | ReturnType<typeof QUEUE_NAMES.push>
  | typeof QUEUE_NAMES.deflection
  | ReturnType<typeof QUEUE_NAMES.outbound>
  | typeof QUEUE_NAMES.reconcile;

/**
 * One part's keys per prefix, built once and kept: the record store asks for its keys on every command of
 * every event, and building the table (a dozen closures) each time cost ~5 % of the events worker's CPU.
 */
function perPrefix<T>(build: (prefix: string) => T): (prefix: string) => T {
  const built = new Map<string, T>();
  return (prefix) => {
    let keys = built.get(prefix);
    if (keys === undefined) built.set(prefix, (keys = build(prefix)));
    return keys;
  };
}

export const REDIS_KEYS = {
  /** SCAN pattern of every key under the prefix (erasure sweeps, the demo's and tests' cleanup). */
  everything: (prefix: string) => `${prefix}:*`,
  /** The head of every key BullMQ keeps for one queue (`<prefix>:<queue>:<job id>` is a job's hash). */
  queue: (prefix: string, name: string) => `${prefix}:${name}:`,

  /** Customer records (store.ts writes them): `<prefix>:rec:<id>`, with `…:keys` and `…:audit` beside each. */
  records: perPrefix((prefix: string) => ({
    head: `${prefix}:rec:`,
    record: (id: string) => `${prefix}:rec:${id}`,
    /** The identity keys a record owns (set). */
    owned: (id: string) => `${prefix}:rec:${id}:keys`,
    /** Identity changes outbound subscribers have not been told of yet (set; see store.ts untoldKey). */
    untold: (id: string) => `${prefix}:rec:${id}:untold`,
    /** Merges into a record whose deflection sessions have not been moved yet (set). */
    unmoved: (id: string) => `${prefix}:rec:${id}:unmoved`,
    /** The record's people past the first MAX_INLINE_PEOPLE (hash; people.ts). */
    people: (id: string) => `${prefix}:rec:${id}:people`,
    /** The record's system keys and the size of its key set when written (hash; key-index.ts). */
    systemKeys: (id: string) => `${prefix}:rec:${id}:sys`,
    /** The record's audit entries (list). */
    audit: (id: string) => `${prefix}:rec:${id}:audit`,
    /** Which record owns an identity key (`stripe:…`, `email:…`, …). */
    index: (identityKey: string) => `${prefix}:idx:${identityKey}`,
    /** Identity conflicts for an admin (hash). */
    conflicts: `${prefix}:conflicts`,
    /** The ids of the conflicts `conflictsOf` indexes (set): while it counts as many as `conflicts` holds, the index is whole. */
    conflictsIndexed: `${prefix}:conflicts:indexed`,
    /** The ids of the conflicts naming one system key (set): a reader of one customer finds its conflicts without reading all. */
    conflictsOf: (identityKey: string) => `${prefix}:conflicts:key:${identityKey}`,
    /** Ties stored but not settled yet (hash: source|kind|object id → version). */
    ties: `${prefix}:ties`,
    /** Ids that linked nothing (hash; identity-refusals.ts). */
    refused: `${prefix}:identity:refused`,
    /** Pairs of identity keys an admin unlinked (set). */
    apart: `${prefix}:identity:apart`,
    /** Audit entries that outlive their record (`identity forget`). */
    globalAudit: `${prefix}:audit`,
    /** Ids of every stored customer record (set), maintained by the record store. */
    customers: `${prefix}:customers`,
    /** Present once `customers` holds every record (written by the worker's reconciliation). */
    customersComplete: `${prefix}:customers:complete`,
  })),

  /** An event's dedupe mark under its job id (ingest.ts). */
  seen: (prefix: string, jobId: string) => `${prefix}:seen:${jobId}`,

  /** One-time migrations done under the prefix (hash: migration → what it did; admin/migrate-stripe-keys.ts). */
  migrations: (prefix: string) => `${prefix}:migrations`,

  /** The admin dashboard's sessions (by the hash of their id) and sign-in throttles (webhooks/admin/guard.ts). */
  admin: perPrefix((prefix: string) => ({
    session: (idHash: string) => `${prefix}:admin:session:${idHash}`,
    failedByClient: (window: number, client: string) => `${prefix}:admin:failed:${window}:ip:${client}`,
    failedAll: (window: number) => `${prefix}:admin:failed:${window}:all`,
  })),

  /** A portal target's API rate, shared by every worker (call-gate.ts). */
  callGate: (prefix: string, target: PortalTargetName) => `${prefix}:rate:${target}`,

  /** Pushes (push/planner.ts, push/worker.ts). */
  push: perPrefix((prefix: string) => ({
    /** The projection a target accepted last for a customer (push/worker.ts). */
    accepted: (target: string, customerId: string) => `${prefix}:pushed:${target}:${customerId}`,
    /** The calls a push of the customer to the target already made, kept for its next try (hash; push/progress.ts). */
    progress: (target: string, customerId: string) => `${prefix}:push-progress:${target}:${customerId}`,
    /**
     * The token of the last writer of the customer's data to the target: every push try and bulk drain sets a fresh
     * one before its first call and its accept clears it while it is its own; a try trusts the progress only while it
     * was recorded under it, and writes everything when one is still set (push/progress.ts).
     */
    writer: (target: string, customerId: string) => `${prefix}:push-writer:${target}:${customerId}`,
    /** What the target's platform lacks of what it writes to, as a worker last checked (JSON; push/setup-check.ts). */
    setupCheck: (target: PortalTargetName) => `${prefix}:push-setup:${target}`,
    /** A hash beside it while checks cannot run: since, at, reason, status (push/setup-check.ts). */
    setupCheckFailure: (target: PortalTargetName) => `${prefix}:push-setup:${target}:failure`,
    /** Set while a target is failing: its pushes wait on backoff (push/target-call.ts). */
    down: (target: string) => `${prefix}:push-down:${target}`,
    /** Set (for `debounceMs`) when a push of the customer to the target was written. */
    recent: (target: PortalTargetName, customerId: string) => `${prefix}:push-recent:${target}:${customerId}`,
    /** BullMQ's deduplication key of a push job (the job's deduplication id under its queue). */
    dedup: (target: PortalTargetName, dedupId: string) => `${prefix}:${QUEUE_NAMES.push(target)}:de:${dedupId}`,
  })),

  /** The fingerprint of the field mapping a target's pushes were made with (push/repush.ts). */
  mappingFingerprint: (prefix: string, target: PortalTargetName) => `${prefix}:mapping-fingerprint:${target}`,

  /** Resync pushes waiting for a bulk call, per target (push/bulk.ts). */
  bulk: (prefix: string, target: string) => ({
    pending: `${prefix}:bulk:${target}:pending`,
    claimed: `${prefix}:bulk:${target}:claimed`,
    byJob: (jobId: string) => `${prefix}:bulk:${target}:by:${jobId}`,
  }),

  /** Payloads that failed their schema at the edge (quarantine.ts); `legacyList` is the layout before ids/meta/bodies. */
  quarantine: perPrefix((prefix: string) => {
    const k = `${prefix}:quarantine`;
    return {
      legacyList: k,
      ids: `${k}:ids`,
      meta: `${k}:meta`,
      bodies: `${k}:bodies`,
      bytes: `${k}:bytes`,
      evicted: `${k}:evicted`,
    };
  }),

  /** Workers' heartbeats, each source's last webhook (health.ts). */
  health: perPrefix((prefix: string) => ({
    workers: `${prefix}:health:workers`,
    webhooks: `${prefix}:health:webhooks`,
  })),

  /** The reconciler (reconcile.ts): the last pass's report, each source's checkpoint, the pass history. */
  reconcile: perPrefix((prefix: string) => ({
    last: `${prefix}:reconcile:last`,
    checkpoint: (source: string) => `${prefix}:reconcile:checkpoint:${source}`,
    history: `${prefix}:reconcile:history`,
  })),

  /** Resync runs (resync/runs.ts). */
  resync: perPrefix((prefix: string) => ({
    run: (id: string) => `${prefix}:resync:run:${id}`,
    counts: (id: string) => `${prefix}:resync:run:${id}:counts`,
    latest: `${prefix}:resync:latest`,
    runs: `${prefix}:resync:runs`,
  })),

  /** The customer's own view (view/rate-limit.ts): one user's requests in one window. */
  view: perPrefix((prefix: string) => ({
    rate: (userId: string, windowStart: number) => `${prefix}:view:rate:${userId}:${windowStart}`,
  })),

  /** Forgotten customers (events/tombstones.ts, admin/portal-clear.ts). */
  forgotten: perPrefix((prefix: string) => ({
    salt: `${prefix}:forgotten:salt`,
    key: (hash: string) => `${prefix}:forgotten:key:${hash}`,
    group: (group: string) => `${prefix}:forgotten:group:${group}`,
    /** Events dropped because they named a forgotten customer (a counter). */
    dropped: `${prefix}:forgotten:dropped`,
    /** What is left to clear on the portals for a forgotten customer. */
    portal: (group: string) => `${prefix}:forgotten:portal:${group}`,
  })),

  /**
   * Deflection tracking, all under `<prefix>:defl:` (the tracker writes, the report reads through
   * createDeflectionData); the customer set sits beside the records it counts.
   */
  deflection: perPrefix((prefix: string) => {
    const k = `${prefix}:defl`;
    return {
      /** Activity event ids already tracked (string, with a TTL): a redelivery changes nothing. */
      seen: (eventId: string) => `${k}:seen:${eventId}`,
      /** A contact's most recent session id (string). */
      contact: (contact: string) => `${k}:contact:${contact}`,
      /** One session's state as JSON (string; expires some days after it is decided). */
      session: (sessionId: string) => `${k}:session:${sessionId}`,
      /** A customer's sessions still waiting for their outcome (set). */
      open: (customerId: string) => `${k}:open:${customerId}`,
      /** A customer's recent tickets, JSON {ticketId, category} scored by creation time (zset, TTL). */
      customerTickets: (customerId: string) => `${k}:ctix:${customerId}`,
      /** A ticket id already counted as opened (string, long TTL). */
      ticket: (ticketId: string) => `${k}:ticket:${ticketId}`,
      /** Open session ids scored by the end of their window (zset): what the sweep closes. */
      due: `${k}:due`,
      /** SessionStart JSON scored by start time (zset). */
      sessions: `${k}:sessions`,
      /** DeflectionEvent JSON scored by decision time (zset). */
      events: `${k}:events`,
      /** DeflectionEvent JSON decided but not yet handed to the push queues (list). */
      outbox: `${k}:outbox`,
      /** NoResultSearch JSON (with the event id, to keep equal searches apart) scored by time (zset). */
      noResults: `${k}:nores`,
      /** TicketOpened JSON scored by creation time (zset). */
      tickets: `${k}:tickets`,
      /** Counters of one UTC hour, `YYYY-MM-DDTHH` (hash: deflected, escalated, deflected:<category>, …). */
      counts: (hour: string) => `${k}:count:${hour}`,
      /** The first hour whose counters the history trim has not removed yet (string, ms). */
      trimmedUntil: `${k}:trimmed-until`,
      /** Held while one worker trims the history (string, with a TTL: one trim an hour across workers). */
      trimLock: `${k}:trim-lock`,
      customers: `${prefix}:customers`,
      customersComplete: `${prefix}:customers:complete`,
    };
  }),

  /**
   * Outbound webhooks, all under `<prefix>:outbound`:
   * - `evt:<id>` the event's body (the exact bytes sent), kept `retentionMs`;
   * - `log:time` / `log:seq` every event id by time recorded and by global sequence (the order
   *   of emission, which `replay` restores);
   * - `view:<customer>` what subscribers were last told about a customer, and its version;
   * - `lane:<sub>:<customer>` the events a subscription still has to receive for a customer, in
   *   order: the head (index 0) is the only one that may be sent;
   * - `lanes:<sub>` the customers whose lane is not empty; `fails:<sub>` consecutive failures by lane;
   * - `sub:<sub>` the subscription's state (paused, failing since, pending count, last success…);
   * - `attempts:<sub>` / `failed:<sub>` the newest delivery attempts (all / failed only), capped.
   */
  outbound: perPrefix((prefix: string) => {
    const base = `${prefix}:outbound`;
    return {
      base,
      event: (id: string) => `${base}:evt:${id}`,
      logTime: `${base}:log:time`,
      logSeq: `${base}:log:seq`,
      seq: `${base}:seq`,
      view: (customerId: string) => `${base}:view:${customerId}`,
      lane: (sub: string, customer: string) => `${base}:lane:${sub}:${customer}`,
      lanes: (sub: string) => `${base}:lanes:${sub}`,
      fails: (sub: string) => `${base}:fails:${sub}`,
      state: (sub: string) => `${base}:sub:${sub}`,
      attempts: (sub: string) => `${base}:attempts:${sub}`,
      failed: (sub: string) => `${base}:failed:${sub}`,
    };
  }),
} as const;

export type DeflectionKeys = ReturnType<typeof REDIS_KEYS.deflection>;
export type OutboundKeys = ReturnType<typeof REDIS_KEYS.outbound>;
