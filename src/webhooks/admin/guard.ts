/**
 * What stands between a guesser and the admin token: server-side browser
 * sessions in Redis (a random id the cookie carries — nothing derived from the
 * token, so a captured cookie tests no guesses offline; revoked on logout, all
 * void once ADMIN_TOKEN changes) and a throttle on wrong tokens, per client IP
 * and in all, in one-minute windows shared by every web instance.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from '../../log.js';
import type { Redis } from '../../sync/redis/connection.js';
import { REDIS_KEYS } from '../../sync/redis/keys.js';

export interface AdminGuardSettings {
  failedAuthPerIpPerMinute: number;
  failedAuthPerMinute: number;
  sessionTtlSeconds: number;
}

const WINDOW_MS = 60_000;
/** Refusals logged at most once per this long, with the number left out meanwhile. */
const LOG_EVERY_MS = 10_000;
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Every key this module writes (built in src/sync/redis/keys.ts). */
const keys = (prefix: string) => {
  const k = REDIS_KEYS.admin(prefix);
  return {
    // The id is stored hashed: whoever reads Redis learns no usable cookie.
    session: (id: string) => k.session(sha256(id)),
    failedByIp: (window: number, ip: string) => k.failedByClient(window, throttleClient(ip)),
    failedAll: (window: number) => k.failedAll(window),
  };
};

/**
 * Who a client is for the per-IP count: an IPv4 address as is, an IPv6 one by its /64 (one host
 * usually holds a whole /64, and would otherwise get 2^64 fresh addresses to guess from).
 */
export function throttleClient(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4) return v4[1]!;
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Refused: how long until the minute's window ends, in ms (the edge writes it as Retry-After seconds). */
export type ThrottleVerdict = { ok: true } | { ok: false; retryAfterMs: number };

export class AdminGuard {
  private readonly keys: ReturnType<typeof keys>;
  /** Which ADMIN_TOKEN a session was made under; a session of another one is void. */
  private readonly generation: string;
  private lastLog = 0;
  private unlogged = 0;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    adminToken: string,
    readonly settings: AdminGuardSettings,
    private readonly logger?: Logger,
  ) {
    this.keys = keys(prefix);
    this.generation = sha256(`portal-sync admin token generation v1\0${adminToken}`);
  }

  /** A new session: its random id goes into the cookie, only its hash into Redis. */
  async createSession(): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.redis.set(this.keys.session(id), this.generation, 'EX', this.settings.sessionTtlSeconds);
    return id;
  }

  async sessionValid(id: string | undefined): Promise<boolean> {
    if (id === undefined || !/^[\w-]{43}$/.test(id)) return false;
    const stored = await this.redis.get(this.keys.session(id));
    if (stored === null) return false;
    if (stored === this.generation) return true;
    await this.redis.del(this.keys.session(id)); // made under an earlier ADMIN_TOKEN
    return false;
  }

  async endSession(id: string | undefined): Promise<void> {
    if (id !== undefined && /^[\w-]{43}$/.test(id)) await this.redis.del(this.keys.session(id));
  }

  /** Whether this client may try a token now: not while it, or everyone together, is over the minute's limit. */
  async mayTry(ip: string, now = Date.now()): Promise<ThrottleVerdict> {
    const window = Math.floor(now / WINDOW_MS);
    const [byIp, all] = await this.redis.mget(this.keys.failedByIp(window, ip), this.keys.failedAll(window));
    if (
      Number(byIp ?? 0) < this.settings.failedAuthPerIpPerMinute &&
      Number(all ?? 0) < this.settings.failedAuthPerMinute
    )
      return { ok: true };
    const retryAfterMs = (window + 1) * WINDOW_MS - now;
    this.logRefusal({ reason: 'throttled', ip, retryAfterMs }, now);
    return { ok: false, retryAfterMs };
  }

  /** Counts a wrong token against the client and against the total. */
  async failed(ip: string, details: Record<string, unknown>, now = Date.now()): Promise<void> {
    const window = Math.floor(now / WINDOW_MS);
    await this.redis
      .multi()
      .incr(this.keys.failedByIp(window, ip))
      .pexpire(this.keys.failedByIp(window, ip), 2 * WINDOW_MS)
      .incr(this.keys.failedAll(window))
      .pexpire(this.keys.failedAll(window), 2 * WINDOW_MS)
      .exec();
    this.logRefusal({ reason: 'bad_token', ip, ...details }, now);
  }

  /** A flood of refusals must not become a flood of log lines: one per LOG_EVERY_MS, saying how many were left out. */
  logRefusal(fields: Record<string, unknown>, now = Date.now()): void {
    if (now - this.lastLog < LOG_EVERY_MS) {
      this.unlogged += 1;
      return;
    }
    this.logger?.warn(
      { ...fields, ...(this.unlogged > 0 ? { notLogged: this.unlogged } : {}) },
      'admin request refused',
    );
    this.lastLog = now;
    this.unlogged = 0;
  }
}
