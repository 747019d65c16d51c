/**
 * Zendesk help center JWTs, verified with jose against the account's published keys.
 *
 * Verified in Zendesk's developer docs (Help Center JWTs reference, developer.zendesk.com/api-reference/
 * help_center/help-center-api/help_center_jwts): the theme gets a token from `GET /api/v2/help_center/
 * integration/token` (answer `{"token": "…"}`, end users only; Guide Enterprise and Suite Enterprise
 * plans, any other plan gets 404); the keys are listed by `GET /api/v2/help_center/integration/keys`
 * (anonymous; `{"keys": [{kty: "RSA", n, e, kid}]}`), the token header's `kid` names the key; the
 * payload "includes the user's Zendesk email address, Zendesk user id, and external user id".
 *
 * NOT verified (the docs' "JWT structure" section was not available to us): the claim NAMES and the
 * algorithm. We read `userId`, `externalId`, `email` (what integrations verifying these tokens read;
 * `user_id`/`external_id` are taken too, and a token whose two spellings disagree is refused), take
 * the RSA algorithms only (the keys are RSA), require `exp` and `iat`, and check `iss` only when
 * ZENDESK_HELP_CENTER_JWT_ISSUER is set. The per-account key set is what ties a token to the account.
 */
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { Viewer } from '../sync/view/view.js';
import { KeysUnavailableError } from './help-center-keys.js';

const HELP_CENTER_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

export interface HelpCenterVerifyOptions {
  getKey: JWTVerifyGetKey;
  issuer?: string;
  clockToleranceSeconds: number;
  maxTokenAgeSeconds: number;
}

export type VerifyOutcome =
  | { ok: true; viewer: Viewer }
  | {
      ok: false;
      status: 401;
      reason: 'missing_token' | 'invalid_token' | 'expired_token' | 'no_user_in_token';
      message: string;
    }
  | { ok: false; status: 503; reason: 'keys_unavailable'; message: string };

const zendeskId = z.union([z.number().int().positive().transform(String), z.string().regex(/^\d{1,20}$/)]);
const ClaimsSchema = z.object({
  userId: zendeskId.optional(),
  user_id: zendeskId.optional(),
  externalId: z.string().min(1).max(255).nullish(),
  external_id: z.string().min(1).max(255).nullish(),
  email: z.string().min(3).max(320).nullish(),
});

/** The viewer a verified payload names, or why it names none. */
function viewerFromClaims(payload: JWTPayload): Viewer | null {
  const parsed = ClaimsSchema.safeParse(payload);
  if (!parsed.success) return null;
  const c = parsed.data;
  const one = <T>(a: T | null | undefined, b: T | null | undefined): T | null | false =>
    a != null && b != null && a !== b ? false : (a ?? b ?? null);
  const id = one(c.userId, c.user_id);
  const externalId = one(c.externalId, c.external_id);
  if (!id || externalId === false) return null;
  return { zendeskUserId: id, externalId, email: c.email ?? null };
}

export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+([A-Za-z0-9_.~+/=-]+)\s*$/i.exec(header ?? '');
  return m?.[1] ?? null;
}

export async function verifyHelpCenterToken(
  token: string | null,
  opts: HelpCenterVerifyOptions,
): Promise<VerifyOutcome> {
  if (!token)
    return {
      ok: false,
      status: 401,
      reason: 'missing_token',
      message: 'Authorization: Bearer <help center JWT> is required',
    };
  try {
    const { payload } = await jwtVerify(token, opts.getKey, {
      algorithms: HELP_CENTER_ALGORITHMS,
      requiredClaims: ['exp', 'iat'],
      clockTolerance: opts.clockToleranceSeconds,
      maxTokenAge: opts.maxTokenAgeSeconds,
      ...(opts.issuer ? { issuer: opts.issuer } : {}),
    });
    const viewer = viewerFromClaims(payload);
    if (!viewer)
      return {
        ok: false,
        status: 401,
        reason: 'no_user_in_token',
        message: 'the help center token names no Zendesk user',
      };
    return { ok: true, viewer };
  } catch (err) {
    if (err instanceof KeysUnavailableError)
      return {
        ok: false,
        status: 503,
        reason: 'keys_unavailable',
        message: 'help center keys are unavailable; retry later',
      };
    if (err instanceof errors.JWTExpired)
      return { ok: false, status: 401, reason: 'expired_token', message: 'the help center token has expired' };
    // Anything else, jose's or not, about this token: never a 2xx.
    return { ok: false, status: 401, reason: 'invalid_token', message: 'the help center token is not valid' };
  }
}

/**
 * Verified tokens remembered for a short while (the theme sends the same token with every call of
 * a page): a signature check costs more than the rest of a view request. An entry lives until the
 * token's own exp or `ttlMs`, whichever is first, so a key Zendesk retires stops a remembered token
 * within `ttlMs`; the least recently stored go first past `max`. Only successes are remembered.
 */
export function rememberVerified(
  verify: (token: string | null) => Promise<VerifyOutcome>,
  opts: { max: number; ttlMs: number; now?: () => number },
): (token: string | null) => Promise<VerifyOutcome> {
  const now = opts.now ?? Date.now;
  const seen = new Map<string, { viewer: Viewer; until: number }>();
  return async (token) => {
    if (token) {
      const hit = seen.get(token);
      if (hit && hit.until > now()) return { ok: true, viewer: hit.viewer };
      if (hit) seen.delete(token);
    }
    const outcome = await verify(token);
    if (outcome.ok && token) {
      const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: number })
        .exp;
      const until = Math.min(now() + opts.ttlMs, typeof exp === 'number' ? exp * 1000 : 0);
      if (until > now()) {
        if (seen.size >= opts.max) seen.delete(seen.keys().next().value as string);
        seen.set(token, { viewer: outcome.viewer, until });
      }
    }
    return outcome;
  };
}
