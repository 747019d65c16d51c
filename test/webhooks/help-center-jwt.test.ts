/**
 * Help center JWT edge cases, against the Zendesk stand-in's real key endpoint: only a token
 * signed by the account's published RSA keys, fresh, and naming a user, is a viewer; anything
 * else is 401, and no keys at all is 503, never a viewer.
 */
import { exportSPKI, importJWK, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';
import {
  rememberVerified,
  verifyHelpCenterToken,
  type HelpCenterVerifyOptions,
} from '../../src/webhooks/help-center-jwt.js';
import { helpCenterKeySet, type KeySetOptions } from '../../src/webhooks/help-center-keys.js';

let zd: ZendeskStandIn;
let ann: { id: number; email: string | null; external_id: string | null };
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  zd = await startZendeskStandIn();
  ann = zd.seedUser({ name: 'Ann', email: 'ann@acme.example', external_id: '0035e00000AnnCtAAJ' });
});
afterAll(async () => {
  await zd?.close();
});

function verifier(over: Partial<KeySetOptions> = {}, claims: Partial<Omit<HelpCenterVerifyOptions, 'getKey'>> = {}) {
  const getKey = helpCenterKeySet({
    url: `${zd.baseUrl}/help_center/integration/keys.json`,
    refreshSeconds: 600,
    cooldownSeconds: 0,
    timeoutMs: 1000,
    maxStaleSeconds: 3600,
    logger: createLogger('silent'),
    ...over,
  });
  return (token: string | null) =>
    verifyHelpCenterToken(token, { getKey, clockToleranceSeconds: 60, maxTokenAgeSeconds: 3600, ...claims });
}

async function tokenOf(userId: number): Promise<string> {
  const res = await fetch(`${zd.baseUrl}/help_center/integration/token.json?as=${userId}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

describe('help center JWT verification', () => {
  it("a token from the account's token endpoint names its Zendesk user, external id and email", async () => {
    const outcome = await verifier()(await tokenOf(ann.id));
    expect(outcome).toEqual({
      ok: true,
      viewer: { zendeskUserId: String(ann.id), externalId: '0035e00000AnnCtAAJ', email: 'ann@acme.example' },
    });
  });

  it('the token endpoint answers 401 to nobody signed in', async () => {
    expect((await fetch(`${zd.baseUrl}/help_center/integration/token`)).status).toBe(401);
  });

  it('a missing token is 401', async () => {
    expect(await verifier()(null)).toMatchObject({ ok: false, status: 401, reason: 'missing_token' });
  });

  it('an unsigned token (alg none) is 401', async () => {
    const token = new UnsecuredJWT(zd.helpCenter.claimsOf(ann)).setIssuedAt().setExpirationTime('5m').encode();
    expect(await verifier()(token)).toMatchObject({ ok: false, status: 401, reason: 'invalid_token' });
  });

  it("an HS256 token keyed with the account's public key is 401", async () => {
    const { keys } = (await (await fetch(`${zd.baseUrl}/help_center/integration/keys`)).json()) as { keys: JWK[] };
    const key = keys[0]!;
    const pem = await exportSPKI(
      (await importJWK({ ...key, alg: 'RS256' }, 'RS256', { extractable: true })) as CryptoKey,
    );
    for (const secret of [new TextEncoder().encode(pem), new TextEncoder().encode(key.n!)]) {
      const token = await new SignJWT(zd.helpCenter.claimsOf(ann))
        .setProtectedHeader({ alg: 'HS256', kid: key.kid! })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(secret);
      expect(await verifier()(token)).toMatchObject({ ok: false, status: 401, reason: 'invalid_token' });
    }
  });

  it('a kid the account never published is 401', async () => {
    const token = await zd.helpCenter.sign(zd.helpCenter.claimsOf(ann), { kid: 'f'.repeat(64) });
    expect(await verifier()(token)).toMatchObject({ ok: false, status: 401, reason: 'invalid_token' });
  });

  it("a token signed by another account's key under this account's kid is 401", async () => {
    const token = await zd.helpCenter.sign(zd.helpCenter.claimsOf(ann), {
      foreign: true,
      kid: JSON.parse(atob((await tokenOf(ann.id)).split('.')[0]!)).kid,
    });
    expect(await verifier()(token)).toMatchObject({ ok: false, status: 401, reason: 'invalid_token' });
  });

  it('with an issuer configured, a token from any other issuer is 401 and one from it passes', async () => {
    const strict = verifier({}, { issuer: zd.helpCenter.issuer });
    expect(
      await strict(await zd.helpCenter.sign({ ...zd.helpCenter.claimsOf(ann), iss: 'https://evil.zendesk.com' })),
    ).toMatchObject({ ok: false, status: 401 });
    expect(await strict(await tokenOf(ann.id))).toMatchObject({ ok: true });
  });

  it('clock skew: exp and iat within the tolerance pass, beyond it they are 401', async () => {
    const v = verifier();
    const claims = zd.helpCenter.claimsOf(ann);
    expect(await v(await zd.helpCenter.sign(claims, { issuedAt: now() - 300, expiresAt: now() - 30 }))).toMatchObject({
      ok: true,
    });
    expect(await v(await zd.helpCenter.sign(claims, { issuedAt: now() - 300, expiresAt: now() - 90 }))).toMatchObject({
      ok: false,
      status: 401,
      reason: 'expired_token',
    });
    expect(await v(await zd.helpCenter.sign(claims, { issuedAt: now() + 30, expiresAt: now() + 330 }))).toMatchObject({
      ok: true,
    });
    expect(await v(await zd.helpCenter.sign(claims, { issuedAt: now() + 90, expiresAt: now() + 390 }))).toMatchObject({
      ok: false,
      status: 401,
    });
  });

  it('a token issued longer ago than maxTokenAgeSeconds is 401 whatever its exp', async () => {
    const token = await zd.helpCenter.sign(zd.helpCenter.claimsOf(ann), {
      issuedAt: now() - 7200,
      expiresAt: now() + 3600,
    });
    expect(await verifier()(token)).toMatchObject({ ok: false, status: 401 });
  });

  it('a token without exp or iat is 401', async () => {
    for (const omit of [['exp'], ['iat'], ['iat', 'exp']] as const) {
      const token = await zd.helpCenter.sign(zd.helpCenter.claimsOf(ann), { omit: [...omit] });
      expect(await verifier()(token)).toMatchObject({ ok: false, status: 401 });
    }
  });

  it('a token naming no user, or two different ones, is 401', async () => {
    const v = verifier();
    expect(await v(await zd.helpCenter.sign({ email: 'ann@acme.example' }))).toMatchObject({
      ok: false,
      status: 401,
      reason: 'no_user_in_token',
    });
    expect(await v(await zd.helpCenter.sign({ userId: ann.id, user_id: 999 }))).toMatchObject({
      ok: false,
      status: 401,
      reason: 'no_user_in_token',
    });
  });

  it("a rotated key is picked up by its kid, and the old key's tokens keep passing while it is published", async () => {
    const v = verifier();
    const before = await tokenOf(ann.id);
    expect(await v(before)).toMatchObject({ ok: true });
    await zd.helpCenter.rotateKey();
    expect(await v(await tokenOf(ann.id))).toMatchObject({ ok: true });
    expect(await v(before)).toMatchObject({ ok: true });
  });
});

describe('help center keys endpoint down', () => {
  it('keys fetched before keep verifying while the endpoint is down', async () => {
    const v = verifier({ refreshSeconds: 0 });
    expect(await v(await tokenOf(ann.id))).toMatchObject({ ok: true });
    for (const fault of ['down', 'reset'] as const) {
      zd.helpCenter.setKeysFault(fault);
      try {
        expect(await v(await tokenOf(ann.id))).toMatchObject({ ok: true });
      } finally {
        zd.helpCenter.setKeysFault(null);
      }
    }
  });

  it('with no keys ever fetched, the endpoint down is 503, never a viewer', async () => {
    const token = await tokenOf(ann.id);
    for (const fault of ['down', 'reset'] as const) {
      zd.helpCenter.setKeysFault(fault);
      try {
        expect(await verifier()(token)).toMatchObject({ ok: false, status: 503, reason: 'keys_unavailable' });
      } finally {
        zd.helpCenter.setKeysFault(null);
      }
    }
  });

  it('cached keys older than maxStaleSeconds are not used: 503', async () => {
    const v = verifier({ refreshSeconds: 0, maxStaleSeconds: 0 });
    expect(await v(await tokenOf(ann.id))).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 20));
    zd.helpCenter.setKeysFault('down');
    try {
      expect(await v(await tokenOf(ann.id))).toMatchObject({ ok: false, status: 503 });
    } finally {
      zd.helpCenter.setKeysFault(null);
    }
  });

  it('while the endpoint is down it is asked at most once per cooldown', async () => {
    const v = verifier({ refreshSeconds: 0, cooldownSeconds: 60 });
    const token = await tokenOf(ann.id);
    expect(await v(token)).toMatchObject({ ok: true });
    zd.helpCenter.setKeysFault('down');
    try {
      const before = zd.helpCenter.keyRequests();
      for (let i = 0; i < 5; i++) expect(await v(token)).toMatchObject({ ok: true });
      expect(zd.helpCenter.keyRequests() - before).toBe(1);
    } finally {
      zd.helpCenter.setKeysFault(null);
    }
  });
});

describe('remembered verifications', () => {
  it('answers a token it verified without verifying again, until its exp or the ttl, whichever is first', async () => {
    let t = Date.now();
    let calls = 0;
    const inner = async (token: string | null) => {
      calls += 1;
      return verifier()(token);
    };
    const verify = rememberVerified(inner, { max: 10, ttlMs: 60_000, now: () => t });
    const token = await zd.helpCenter.sign(zd.helpCenter.claimsOf(ann), { expiresAt: Math.floor(t / 1000) + 30 });
    expect(await verify(token)).toMatchObject({ ok: true });
    expect(await verify(token)).toMatchObject({ ok: true });
    expect(calls).toBe(1);
    t += 31_000; // past the token's exp: verified again (and jose, on the real clock, still takes it within the tolerance)
    await verify(token);
    expect(calls).toBe(2);
  });

  it('never remembers a refusal', async () => {
    let calls = 0;
    const verify = rememberVerified(
      async (token) => {
        calls += 1;
        return verifier()(token);
      },
      { max: 10, ttlMs: 60_000 },
    );
    const forged = await zd.helpCenter.sign(zd.helpCenter.claimsOf(ann), { foreign: true });
    expect(await verify(forged)).toMatchObject({ ok: false, status: 401 });
    expect(await verify(forged)).toMatchObject({ ok: false, status: 401 });
    expect(calls).toBe(2);
  });
});
