/**
 * A test file's record stores on the real Redis, under one unique prefix: opened before its tests, each on a
 * connection of its own, and after them closed with every key of the prefix deleted. The caller gets them
 * through `opened` (into its own variables) and keeps the prefix.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createEventsQueue, type EventsQueue } from '../../src/sync/events/queue.js';
import { RecordStore } from '../../src/sync/events/store.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from './redis.js';

export interface OpenStore {
  redis: Redis;
  store: RecordStore;
}

/** `count` stores (as `count` workers would have), each on a connection of its own. */
export function storesUnderPrefix(count: number, opened: (stores: OpenStore[]) => void): string {
  const prefix = uniquePrefix();
  const open: OpenStore[] = [];
  beforeAll(() => {
    for (let i = 0; i < count; i++) {
      const redis = new Redis(redisUrl());
      open.push({ redis, store: new RecordStore(redis, prefix) });
    }
    opened(open);
  });
  afterAll(async () => {
    for (const { store } of open) store.close();
    for (const { redis } of open) redis.disconnect();
    await deleteByPrefix(redisUrl(), prefix);
  });
  return prefix;
}

/** One store and the events queue beside it, on one connection. */
export function eventsUnderPrefix(opened: (open: OpenStore & { queue: EventsQueue }) => void): string {
  const prefix = uniquePrefix();
  let open: (OpenStore & { queue: EventsQueue }) | undefined;
  beforeAll(() => {
    const redis = new Redis(redisUrl());
    open = { redis, queue: createEventsQueue(redis, prefix), store: new RecordStore(redis, prefix) };
    opened(open);
  });
  afterAll(async () => {
    await open?.queue.close();
    open?.store.close();
    open?.redis.disconnect();
    await deleteByPrefix(redisUrl(), prefix);
  });
  return prefix;
}
