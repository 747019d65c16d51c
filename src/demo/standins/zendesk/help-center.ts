/**
 * The help center JWT part of the Zendesk stand-in: the account's public keys
 * (`GET /api/v2/help_center/integration/keys`, anonymous, `{"keys": [{kty, n, e, kid}]}`) and
 * the token of the signed-in end user (`GET /api/v2/help_center/integration/token`, `{"token"}`),
 * as Zendesk's Help Center JWTs reference documents them. Tokens are real RS256 JWTs signed
 * with jose, so the daemon verifies them exactly as it verifies Zendesk's.
 *
 * "Signed in" here: the `zendesk_standin_user` cookie, or `?as=<user id>`, names a user of the
 * stand-in's state. The claim names (userId, externalId, email) and the lifetime are our reading,
 * not verified against Zendesk (see src/webhooks/help-center-jwt.ts).
 *
 * Test controls: rotate the signing key (old keys stay published until retired), take the key
 * endpoint down, sign arbitrary claims with the account's key or a foreign one.
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export const STANDIN_USER_COOKIE = 'zendesk_standin_user';
/** Lifetime of the tokens the stand-in issues (Zendesk's own is not documented in what we read). */
const STANDIN_TOKEN_SECONDS = 300;

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface StandInUserClaims {
  id: number;
  email: string | null;
  external_id: string | null;
}

interface SignOptions {
  /** Header kid (default: the current key's); a kid the set does not hold tests `wrong kid`. */
  kid?: string;
  /** Sign with a key the account never published (a token from another account or a forger). */
  foreign?: boolean;
  issuedAt?: number;
  expiresAt?: number;
  /** Leave these registered claims out (a token no verifier should take). */
  omit?: Array<'iat' | 'exp'>;
}

export interface HelpCenterStandIn {
  router: Router;
  /** Set once the stand-in listens: its origin, the `iss` of its tokens. */
  issuer: string;
  /** The claims a token of this user carries (what the token endpoint signs). */
  claimsOf(user: StandInUserClaims): JWTPayload;
  sign(claims: JWTPayload, opts?: SignOptions): Promise<string>;
  /** A new signing key; the previous ones stay published until retireOldKeys(). */
  rotateKey(): Promise<string>;
  retireOldKeys(): void;
  /** 'down': the key endpoint answers 503; 'reset': it drops the connection; null: back up. */
  setKeysFault(fault: 'down' | 'reset' | null): void;
  /** How many times the key endpoint was asked. */
  keyRequests(): number;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  // Zendesk's kids are 64 hex characters.
  const kid = randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', '');
  const { kty, n, e } = await exportJWK(publicKey);
  return { kid, privateKey, publicJwk: { kty, n, e, kid } };
}

export async function createHelpCenterStandIn(
  findUser: (id: number) => StandInUserClaims | undefined,
  now: () => number,
): Promise<HelpCenterStandIn> {
  const keys: SigningKey[] = [await newKey()];
  const foreign = await newKey();
  let fault: 'down' | 'reset' | null = null;
  let asked = 0;
  const current = () => keys[keys.length - 1]!;

  const standIn: HelpCenterStandIn = {
    router: Router(),
    issuer: '',
    claimsOf: (user) => ({ userId: user.id, externalId: user.external_id, email: user.email }),
    async sign(claims, opts = {}) {
      const key = opts.foreign ? foreign : current();
      const iat = opts.issuedAt ?? Math.floor(now() / 1000);
      const jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: opts.kid ?? key.kid });
      if (!opts.omit?.includes('iat')) jwt.setIssuedAt(iat);
      if (!opts.omit?.includes('exp')) jwt.setExpirationTime(opts.expiresAt ?? iat + STANDIN_TOKEN_SECONDS);
      if (standIn.issuer && claims.iss === undefined) jwt.setIssuer(standIn.issuer);
      return jwt.sign(key.privateKey);
    },
    async rotateKey() {
      keys.push(await newKey());
      return current().kid;
    },
    retireOldKeys() {
      keys.splice(0, keys.length - 1);
    },
    setKeysFault(next) {
      fault = next;
    },
    keyRequests: () => asked,
  };

  const signedIn = (req: Request): number | undefined => {
    const cookie = (req.get('cookie') ?? '')
      .split(';')
      .map((c) => c.trim().split('='))
      .find(([k]) => k === STANDIN_USER_COOKIE)?.[1];
    const raw = cookie ?? (typeof req.query.as === 'string' ? req.query.as : undefined);
    return raw && /^\d+$/.test(raw) ? Number(raw) : undefined;
  };

  standIn.router.get(/^\/api\/v2\/help_center\/integration\/keys(\.json)?$/, (req: Request, res: Response) => {
    asked += 1;
    if (fault === 'reset') return void req.socket.destroy();
    if (fault === 'down')
      return void res.status(503).json({ error: 'ServiceUnavailable', description: 'Service Unavailable' });
    res.json({ keys: keys.map((k) => k.publicJwk) });
  });
  standIn.router.get(/^\/api\/v2\/help_center\/integration\/token(\.json)?$/, (req: Request, res: Response) => {
    const id = signedIn(req);
    const user = id === undefined ? undefined : findUser(id);
    if (!user) return void res.status(401).json({ error: "Couldn't authenticate you" });
    standIn.sign(standIn.claimsOf(user)).then(
      (token) => res.json({ token }),
      (err: unknown) => res.status(500).json({ error: 'InternalError', description: String(err) }),
    );
  });
  return standIn;
}
