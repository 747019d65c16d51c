/**
 * A managed failover endpoint that moves (ElastiCache's primary endpoint, Memorystore, Azure): after a
 * promotion, connections opened before it still reach the old primary, now a replica, which answers writes
 * with READONLY. The factory's connections reconnect — through the endpoint, to the new primary — instead of
 * failing for good: a worker's write is resent transparently, a producer's fails once (the webhook gets 503,
 * the provider retries) and the next one lands on the new primary, with no restart.
 */
import { once } from 'node:events';
import { createServer, Socket, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectRedis,
  createProducerRedis,
  createWorkerRedis,
  type Redis,
} from '../../../src/sync/redis/connection.js';
import { startReplicaSet, type ReplicaSet } from '../../support/redis-ha.js';

let set: ReplicaSet;
let endpoint: Server;
let endpointPort: number;
/** Where the endpoint sends new connections; existing ones stay where they were (as with a DNS move). */
let target: number;
const clients: Redis[] = [];

beforeAll(async () => {
  set = await startReplicaSet(1);
  target = set.primary.port;
  endpoint = createServer((inbound) => {
    const outbound = new Socket();
    outbound.connect(target, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close).on('close', close);
    outbound.on('error', close).on('close', close);
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  endpointPort = (endpoint.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await new Promise((r) => endpoint.close(r));
  await set?.stop();
});

/** Promotes the replica, demotes the primary to follow it, and moves the endpoint: a managed failover. */
async function failOver(): Promise<void> {
  const [oldPrimary, newPrimary] = [set.primary, set.replicas[0]!];
  const admin = (url: string) => {
    const c = connectRedis(url, 'admin');
    clients.push(c);
    return c;
  };
  await admin(newPrimary.url).call('REPLICAOF', 'NO', 'ONE');
  await admin(oldPrimary.url).call('REPLICAOF', '127.0.0.1', String(newPrimary.port));
  target = newPrimary.port;
}

describe('a failover endpoint that moves', () => {
  it('keeps worker and producer connections working after READONLY, on the new primary, with no restart', async () => {
    const url = `redis://127.0.0.1:${endpointPort}`;
    const worker = createWorkerRedis(url);
    const producer = createProducerRedis(url);
    clients.push(worker, producer);
    for (const c of [worker, producer]) c.on('error', () => undefined);
    // The producer has no offline queue: a command sent before it is connected fails at once (as it should for a
    // webhook), so the test starts once both are ready.
    await Promise.all([worker, producer].map((c) => (c.status === 'ready' ? undefined : once(c, 'ready'))));
    expect(await worker.incr('moving:worker')).toBe(1);
    expect(await producer.incr('moving:producer')).toBe(1);
    await set.synced();
    // Replication is asynchronous: the replica must hold both writes before it is promoted (a managed
    // failover of a primary that is still up does the same), or the counters start again on it.
    const primary = connectRedis(set.primary.url, 'admin');
    clients.push(primary);
    expect(Number(await primary.call('WAIT', '1', '5000'))).toBe(1);

    await failOver();

    // The worker's write meets READONLY on the old primary; it is resent after reconnecting through the endpoint.
    expect(await worker.incr('moving:worker')).toBe(2);
    // The producer fails fast once (no offline queue: a webhook would get 503) and is on the new primary next.
    const first = await producer.incr('moving:producer').then(
      (n) => ({ ok: n }),
      (err: Error) => ({ err: err.message }),
    );
    let second: number | null = null;
    for (let i = 0; i < 50 && second === null; i++) {
      second = await producer.incr('moving:producer').catch(() => null);
      if (second === null) await new Promise((r) => setTimeout(r, 100));
    }
    // Whichever way the first write went, the counter on the new primary counts each write that succeeded once.
    expect(second).toBe('ok' in first ? 3 : 2);
    const role = (c: Redis) => c.call('ROLE').then((r) => (r as [string])[0]);
    expect(await role(worker)).toBe('master');
    expect(await role(producer)).toBe('master');
  });
});
