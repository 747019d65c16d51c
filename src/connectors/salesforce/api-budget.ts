/**
 * The org's daily API request budget, shared with every other integration of
 * the org. Salesforce reports the org's usage on every REST response
 * (`Sforce-Limit-Info: api-usage=used/limit`, which jsforce parses into
 * `conn.limitInfo.apiUsage`); once that usage reaches `maxUsage` of the
 * limit, pushes pause for `pauseMs` rather than spend the rest: a portal a
 * few minutes behind is better than an org whose own integrations fail with
 * REQUEST_LIMIT_EXCEEDED. After the pause the next push goes out and reads
 * the usage again (the limit is a rolling 24 hours, so usage falls slowly).
 */
import type { Connection } from 'jsforce';
import { RateLimitedError } from '../../sync/errors.js';

export interface ApiUsage {
  used: number;
  limit: number;
  /** When it was read (ms). */
  at: number;
}

export class ApiBudget {
  private reading: ApiUsage | undefined;

  constructor(
    private readonly settings: { maxUsage: number; pauseMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** The usage the last response of `conn` reported (none before its first call). */
  observe(conn: Connection): void {
    const usage = (conn as { limitInfo?: { apiUsage?: { used?: unknown; limit?: unknown } } }).limitInfo?.apiUsage;
    const used = Number(usage?.used);
    const limit = Number(usage?.limit);
    if (Number.isFinite(used) && Number.isFinite(limit) && limit > 0) this.reading = { used, limit, at: this.now() };
  }

  get last(): ApiUsage | undefined {
    return this.reading;
  }

  /** Throws a RateLimitedError (the wait left of the pause) while the last reading, still fresh, is over budget. */
  check(): void {
    const r = this.reading;
    if (r === undefined || r.used < this.settings.maxUsage * r.limit) return;
    const left = this.settings.pauseMs - (this.now() - r.at);
    if (left <= 0) return; // old enough: the next push reads the usage again
    const share = Math.round(this.settings.maxUsage * 100);
    throw new RateLimitedError(
      `Salesforce org API usage ${r.used}/${r.limit} is at or over the ${share}% portal-sync may use (targets.salesforce.apiBudget.maxUsage)`,
      left,
      { local: true },
    );
  }
}
