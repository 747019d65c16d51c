/**
 * The Zendesk account's help center JSON Web Keys, as a jose key getter:
 * jose's remote key set (refetched after `refreshSeconds`; a token naming an
 * unknown kid refetches at most once per `cooldownSeconds`, which is how a key
 * rotation by Zendesk is picked up), plus what jose leaves to the caller: when
 * the key endpoint cannot be read, the keys fetched before keep verifying for
 * `maxStaleSeconds`, the endpoint is not waited on again before the cooldown,
 * and with no usable keys at all the getter fails with KeysUnavailableError
 * (the route answers 503, never 200).
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwksCache,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  type JWKSCacheInput,
  type JWTVerifyGetKey,
} from 'jose';
import type { Logger } from '../log.js';

export class KeysUnavailableError extends Error {
  override name = 'KeysUnavailableError';
}

export interface KeySetOptions {
  url: string;
  refreshSeconds: number;
  cooldownSeconds: number;
  timeoutMs: number;
  maxStaleSeconds: number;
  logger: Logger;
  now?: () => number;
}

/** What jose throws because of the token itself (its header names no key we hold, or an algorithm we do not take). */
const TOKEN_PROBLEMS = [
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JOSENotSupported,
  errors.JOSEAlgNotAllowed,
  errors.JWSInvalid,
];
const isTokenProblem = (err: unknown) => TOKEN_PROBLEMS.some((E) => err instanceof E);

export function helpCenterKeySet(opts: KeySetOptions): JWTVerifyGetKey {
  const now = opts.now ?? Date.now;
  // jose keeps the last good set here (uat = when it was fetched), and never replaces it with a failed read.
  const cache = {} as ExportedJWKSCache | { uat?: undefined; jwks?: undefined };
  const remote = createRemoteJWKSet(new URL(opts.url), {
    cacheMaxAge: opts.refreshSeconds * 1000,
    cooldownDuration: opts.cooldownSeconds * 1000,
    timeoutDuration: opts.timeoutMs,
    [jwksCache]: cache as JWKSCacheInput,
  });
  let retryAt = Number.NEGATIVE_INFINITY;
  let local: { jwks: JSONWebKeySet; getKey: ReturnType<typeof createLocalJWKSet> } | undefined;
  const usable = (): JSONWebKeySet | undefined =>
    cache.jwks && cache.uat !== undefined && now() - cache.uat <= (opts.refreshSeconds + opts.maxStaleSeconds) * 1000
      ? cache.jwks
      : undefined;
  const fromCache = (jwks: JSONWebKeySet) => {
    if (local?.jwks !== jwks) local = { jwks, getKey: createLocalJWKSet(jwks) };
    return local.getKey;
  };

  return async (header, token) => {
    const kept = usable();
    if (now() < retryAt) {
      // The endpoint failed a moment ago: answer from what we hold instead of waiting on it again.
      if (!kept) throw new KeysUnavailableError('help center keys could not be read, and none are cached');
      return fromCache(kept)(header, token);
    }
    try {
      return await remote(header, token);
    } catch (err) {
      if (isTokenProblem(err)) throw err;
      retryAt = now() + opts.cooldownSeconds * 1000;
      opts.logger.warn(
        { err: (err as Error).message, cachedKeys: Boolean(kept) },
        'help center keys could not be read',
      );
      if (!kept) throw new KeysUnavailableError('help center keys could not be read, and none are cached');
      return fromCache(kept)(header, token);
    }
  };
}
