/**
 * What every receiver does once a payload is verified and parsed: enqueue the
 * events, quarantine what failed its schema, count what was ignored, and map
 * the outcome to an HTTP status. Receivers differ only in how they verify,
 * parse and phrase the answer (JSON, or SOAP for Salesforce).
 */
import type { Request, Response, NextFunction, RequestHandler } from 'express';
import type { Logger } from '../log.js';
import { boundEventTimes, type EventTimeBounds } from '../sync/events/event-time.js';
import { ReplicaAckError, StoreUnavailableError, type Ingestor } from '../sync/events/ingest.js';
import type { ParseResult, Source, SourceEvent } from '../sync/events/source-event.js';
import type { EdgeMetrics } from './metrics.js';
import { setRetryAfter, UNAVAILABLE_RETRY_AFTER_MS } from './retry-after.js';

/** A verified request refused whole (nothing of it kept): the receiver answers `status` with this body. */
class RequestRefusedError extends Error {
  override name = 'RequestRefusedError';
  constructor(
    readonly status: number,
    readonly body: { error: string; reason: string } & Record<string, unknown>,
  ) {
    super(body.error);
  }
}

export interface ReceiverDeps {
  ingestor: Ingestor;
  metrics: EdgeMetrics;
  logger: Logger;
  /** Events dated outside these bounds are quarantined (webhooks.maxFutureSkewSeconds, webhooks.oldestEventTime). */
  eventTimes: EventTimeBounds;
  /** webhooks.maxObjectsPerRequest: more objects in one request, however packed, is refused with 413. */
  maxObjectsPerRequest: number;
  now?: () => number;
}

interface DeliveryCounts {
  accepted: number;
  duplicate: number;
  ignored: number;
  quarantined: number;
  in_flight: number;
}

export interface Delivery {
  /** 200: all done; 202: something was quarantined; 503: part of it must be retried. */
  status: 200 | 202 | 503;
  counts: DeliveryCounts;
}

export async function deliver(
  deps: ReceiverDeps,
  source: Source,
  parsed: ParseResult[],
  raw: {
    body: Buffer;
    contentType: string | undefined;
    signedAt?: string | undefined;
    stripeAccountId?: string | null | undefined;
  },
): Promise<Delivery> {
  // Counted after parsing, so one Salesforce event naming 100 recordIds is 100 objects, not one.
  const objects = parsed.reduce((n, r) => n + (r.kind === 'events' ? r.events.length : 1), 0);
  if (objects > deps.maxObjectsPerRequest) {
    const limit = deps.maxObjectsPerRequest;
    throw new RequestRefusedError(413, {
      error: `this request holds ${objects} objects; at most ${limit} are accepted in one request (webhooks.maxObjectsPerRequest): send them in smaller requests`,
      reason: 'too_many_objects',
      limit,
      objects,
    });
  }
  const results = boundEventTimes(parsed, deps.eventTimes, (deps.now ?? Date.now)());
  const counts: DeliveryCounts = { accepted: 0, duplicate: 0, ignored: 0, quarantined: 0, in_flight: 0 };
  deps.ingestor.noteWebhook(source); // verified: the source is talking to us, whatever the payload holds
  const events: SourceEvent[] = [];
  for (const r of results) {
    if (r.kind === 'events') events.push(...r.events);
    else if (r.kind === 'ignored') counts.ignored += 1;
  }
  // Events first: if quarantining then fails, the retry finds them deduplicated, not lost.
  if (events.length > 0) {
    const outcome = await deps.ingestor.enqueue(events);
    counts.accepted = outcome.accepted.length;
    counts.duplicate = outcome.duplicates.length;
    counts.in_flight = outcome.inFlight.length;
  }
  // One entry per request, whatever number of its items failed: each entry keeps the whole body (a batch of
  // 100 invalid items would otherwise store it 100 times). With one invalid item, replay applies just that one.
  const invalid = results.filter((r): r is Extract<ParseResult, { kind: 'invalid' }> => r.kind === 'invalid');
  if (invalid.length > 0) {
    const shown = invalid.slice(0, 5).map((r) => (r.eventId ? `${r.eventId}: ${r.reason}` : r.reason));
    const reason =
      invalid.length === 1
        ? invalid[0]!.reason
        : `${invalid.length} items failed their schema: ${shown.join('; ')}${invalid.length > 5 ? '; …' : ''}`;
    const eventId = invalid.length === 1 ? (invalid[0]!.eventId ?? null) : null;
    const { meta, evicted } = await deps.ingestor.quarantine({
      source,
      eventId,
      reason,
      contentType: raw.contentType ?? null,
      body: raw.body.toString('utf8'),
      ...(raw.signedAt && { signedAt: raw.signedAt }),
      ...(raw.stripeAccountId && { stripeAccountId: raw.stripeAccountId }),
    });
    counts.quarantined = invalid.length;
    deps.logger.warn(
      { source, eventId, items: invalid.length, quarantineId: meta.id, reason },
      'payload failed its schema: quarantined',
    );
    if (evicted.length > 0) {
      deps.metrics.quarantineEvicted.inc(evicted.length);
      deps.logger.warn(
        { source, evicted: evicted.length, evictedIds: evicted.slice(0, 20) },
        'quarantine full: oldest entries evicted (quarantine.maxEntries, quarantine.maxBytes)',
      );
    }
  }
  for (const [outcome, n] of Object.entries(counts)) if (n > 0) deps.metrics.events.inc({ source, outcome }, n);
  const status = counts.in_flight > 0 ? 503 : counts.quarantined > 0 ? 202 : 200;
  return { status, counts };
}

export type Rejection = { status: number; reason: string; message: string };

/**
 * Wraps a receiver: counts the request, times it, turns a Redis outage into
 * 503 + Retry-After (the provider retries; nothing is lost) and a request refused
 * whole into its status, and never lets an unexpected error escape as an HTML
 * stack trace. `answer` phrases those answers (JSON, or SOAP for Salesforce).
 */
export function receiver(
  deps: ReceiverDeps,
  source: Source,
  handler: (req: Request, res: Response) => Promise<void>,
  answer: (res: Response, status: number, body: { error: string } & Record<string, unknown>) => void = (
    res,
    status,
    body,
  ) => res.status(status).json(body),
): RequestHandler {
  // The labelled children are looked up once (per status for the histogram), not on every request.
  const requests = deps.metrics.requests.labels({ source });
  const timers = new Map<number, { observe(seconds: number): void }>();
  const timerFor = (status: number) => {
    let timer = timers.get(status);
    if (!timer) timers.set(status, (timer = deps.metrics.ingestSeconds.labels({ source, status: String(status) })));
    return timer;
  };
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    requests.inc();
    res.on('finish', () => timerFor(res.statusCode).observe((performance.now() - started) / 1000));
    handler(req, res).catch((err: unknown) => {
      if (err instanceof ReplicaAckError) {
        deps.metrics.rejections.inc({ source, reason: 'replica_ack_timeout' });
        deps.logger.warn(
          { source, wanted: err.wanted, confirmed: err.confirmed },
          'not yet held by enough replicas (redis.ackReplicas): answered 503 so the provider retries',
        );
        setRetryAfter(res, UNAVAILABLE_RETRY_AFTER_MS);
        answer(res, 503, { error: 'event not yet replicated; retry later' });
        return;
      }
      if (err instanceof StoreUnavailableError) {
        deps.metrics.rejections.inc({ source, reason: 'redis_unavailable' });
        deps.logger.error(
          { source, err: err.message },
          'event store unavailable: answered 503 so the provider retries',
        );
        setRetryAfter(res, UNAVAILABLE_RETRY_AFTER_MS);
        answer(res, 503, { error: 'event store temporarily unavailable; retry later' });
        return;
      }
      if (err instanceof RequestRefusedError) {
        deps.metrics.rejections.inc({ source, reason: err.body.reason });
        deps.logger.warn({ source, reason: err.body.reason, status: err.status }, 'webhook rejected');
        answer(res, err.status, err.body);
        return;
      }
      next(err);
    });
  };
}

export function reject(deps: ReceiverDeps, res: Response, source: Source, r: Rejection): void {
  deps.metrics.rejections.inc({ source, reason: r.reason });
  // Never the body, never the signature: only what was wrong.
  deps.logger.warn({ source, reason: r.reason, status: r.status }, 'webhook rejected');
  res.status(r.status).json({ error: r.message, reason: r.reason });
}

/** The raw body as captured by express.raw; an absent body is an empty buffer. */
export function rawBody(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

export function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}
