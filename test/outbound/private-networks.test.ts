/**
 * Outbound webhooks never reach loopback, private, link-local, carrier-grade
 * NAT, unique-local or metadata addresses unless the subscription says
 * allowPrivateNetworks — checked on the addresses the socket connects to, so
 * a name that resolves (or re-resolves) to one is refused too. Names resolve
 * through a test resolver here: nothing leaves the machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusedKind, type Resolver } from '../../src/connectors/subscribers/address-guard.js';
import { classifyAnswer, createSubscriberTransport } from '../../src/connectors/subscribers/transport.js';
import type { Subscription } from '../../src/sync/outbound/types.js';
import { newSecret, startConsumer, type Consumer } from './support/consumer.js';

const secret = newSecret();
let consumer: Consumer;

beforeAll(async () => {
  consumer = await startConsumer(secret);
});
afterAll(async () => consumer?.close());

/** A resolver that knows a few names, and counts what it was asked. */
function resolverOf(names: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string) => {
    asked.push(hostname);
    const addresses = names[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { asked });
}

const subscription = (url: string, extra: Partial<Subscription> = {}): Subscription => ({
  id: 'guarded',
  url,
  events: ['*'],
  timeoutMs: 2_000,
  secrets: [secret],
  ...extra,
});
const body = JSON.stringify({
  id: 'evt_guard',
  type: 'customer.updated',
  timestamp: new Date().toISOString(),
  data: { customer: null },
});

describe('the address guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.100.100.200', 'carrier-grade NAT'],
    ['0.0.0.0', 'this-network'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['fc00::1', 'unique-local'],
    ['::ffff:127.0.0.1', 'IPv4-mapped'],
    ['::', 'unspecified'],
  ])('refuses %s (%s)', (address, kind) => {
    expect(refusedKind(address)).toBe(kind);
  });

  it.each(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c', '8.8.8.8'])(
    'lets the public address %s through',
    (address) => {
      expect(refusedKind(address)).toBeUndefined();
    },
  );
});

describe('delivering to a subscriber', () => {
  it('refuses a host name that resolves to a private address, at connect time, and sends nothing', async () => {
    for (const address of ['10.0.0.5', '169.254.169.254', 'fd00:ec2::254', '127.0.0.1']) {
      const resolver = resolverOf({ 'hooks.internal.test': [address] });
      const before = consumer.requests;
      const result = await createSubscriberTransport({ resolver })(
        subscription(`http://hooks.internal.test:${consumer.port}/hooks`),
        { id: 'evt_guard', body },
      );
      expect(result, address).toMatchObject({ ok: false, status: null });
      expect(result.error, address).toMatch(
        new RegExp(
          `^refused: hooks\\.internal\\.test resolves to ${address.replace(/\./g, '\\.')}, a .* address \\(set allowPrivateNetworks`,
        ),
      );
      expect(resolver.asked).toEqual(['hooks.internal.test']);
      expect(consumer.requests).toBe(before);
    }
  });

  it('refuses when any one of the addresses a name has is private (a mixed answer is how rebinding hides)', async () => {
    const resolver = resolverOf({ 'mixed.test': ['93.184.215.14', '127.0.0.1'] });
    const result = await createSubscriberTransport({ resolver })(
      subscription(`http://mixed.test:${consumer.port}/hooks`),
      { id: 'evt_guard', body },
    );
    expect(result.error).toMatch(/^refused: mixed\.test resolves to 127\.0\.0\.1, a loopback address/);
  });

  it('refuses an IP literal in the URL without asking any resolver', async () => {
    const resolver = resolverOf({});
    const before = consumer.requests;
    const result = await createSubscriberTransport({ resolver })(subscription(consumer.url), { id: 'evt_guard', body });
    expect(result.error).toMatch(/^refused: 127\.0\.0\.1, a loopback address/);
    expect(resolver.asked).toEqual([]);
    expect(consumer.requests).toBe(before);
    const v6 = await createSubscriberTransport({ resolver })(subscription('http://[::1]:9/hooks'), {
      id: 'evt_guard',
      body,
    });
    expect(v6.error).toMatch(/^refused: ::1, a loopback address/);
  });

  it('delivers to the address it resolved, private included, when the subscription sets allowPrivateNetworks', async () => {
    const resolver = resolverOf({ 'consumer.test': ['127.0.0.1'] });
    const before = consumer.received.length;
    const result = await createSubscriberTransport({ resolver })(
      subscription(`http://consumer.test:${consumer.port}/hooks`, { allowPrivateNetworks: true }),
      { id: 'evt_allowed', body },
    );
    expect(result).toMatchObject({ ok: true, status: 204 });
    expect(resolver.asked).toEqual(['consumer.test']);
    expect(consumer.received.slice(before).map((r) => r.id)).toEqual(['evt_allowed']);
  });

  it("keeps only the status and a short printable excerpt of a failing subscriber's answer", async () => {
    const said = classifyAnswer(500, null, 3, `\x1b]0;owned\x07\x1b[31mDatabase\u202e error\x00\r\n${'x'.repeat(500)}`);
    expect(said.error).toMatch(/^HTTP 500: [\x20-\x7e]*$/);
    expect(said.error!.length).toBeLessThanOrEqual('HTTP 500: '.length + 80);
    expect(said.error).not.toMatch(/\x1b|\u202e|\x00/);
  });
});
