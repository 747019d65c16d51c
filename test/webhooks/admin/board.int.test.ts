/**
 * The queue board at /admin/queues is read-only unless admin.boardWrites is
 * set: with the admin token alone nobody adds a job that skips the webhooks'
 * signature checks, pauses a queue or cleans one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from '../../support/daemon.js';

const ADMIN_TOKEN = 'admin_token_for_board_tests_0123456789';
const bearer = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
let readOnly: TestDaemon;
let writable: TestDaemon;

beforeAll(async () => {
  [readOnly, writable] = await Promise.all([
    startTestDaemon({ ADMIN_TOKEN }),
    startTestDaemon({ ADMIN_TOKEN }, (c) => {
      c.admin.boardWrites = true;
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([readOnly?.stop(), writable?.stop()]);
});

const api = (d: TestDaemon, method: string, path: string, body?: unknown) =>
  fetch(`${d.url}/admin/queues/api${path}`, {
    method,
    headers: bearer,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('the queue board', () => {
  it('refuses adding a job, pausing and cleaning by default, and shows the queues as read-only', async () => {
    const add = await api(readOnly, 'POST', '/queues/events/add', { name: 'forged', data: { v: 1 } });
    expect(add.status).toBe(403);
    expect(await add.json()).toMatchObject({ reason: 'read_only' });
    expect((await api(readOnly, 'PUT', '/queues/events/pause')).status).toBe(403);
    expect((await api(readOnly, 'PUT', '/queues/events/clean/completed')).status).toBe(403);
    expect(await readOnly.queue.getJobCounts()).toMatchObject({ waiting: 0, delayed: 0 });
    expect(await readOnly.queue.isPaused()).toBe(false);
    const listed = (await (await api(readOnly, 'GET', '/queues')).json()) as {
      queues: Array<{ name: string; readOnlyMode: boolean }>;
    };
    expect(listed.queues.length).toBeGreaterThan(0);
    expect(listed.queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('allows them with admin.boardWrites: true', async () => {
    expect((await api(writable, 'PUT', '/queues/events/pause')).status).toBe(200);
    expect(await writable.queue.isPaused()).toBe(true);
    expect((await api(writable, 'PUT', '/queues/events/resume')).status).toBe(200);
  });
});
