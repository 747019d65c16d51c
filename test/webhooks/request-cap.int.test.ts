/** One request may carry at most webhooks.maxObjectsPerRequest objects in all, however they are packed (events × recordIds). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOutboundMessage } from '../../src/connectors/salesforce/outbound-builder.js';
import { signHmac } from '../../src/webhooks/hmac.js';
import { startTestDaemon, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { metricValue, post, queuedJobs } from '../support/http.js';

let daemon: TestDaemon;
let small: TestDaemon;
beforeAll(async () => {
  [daemon, small] = await Promise.all([
    startTestDaemon(),
    startTestDaemon({}, (c) => void (c.webhooks.maxObjectsPerRequest = 3)),
  ]);
});
afterAll(async () => {
  await Promise.all([daemon?.stop(), small?.stop()]);
});

let seq = 0;
const accountId = (n: number) => `0015e${String(n).padStart(10, '0')}`; // 15 characters: no checksum
function cdc(recordIds: string[]) {
  seq += 1;
  return {
    ChangeEventHeader: {
      entityName: 'Account',
      recordIds,
      changeType: 'UPDATE',
      changeOrigin: 'com/salesforce/api/rest/62.0;client=flow',
      transactionKey: `cap-${process.pid}-${seq}`,
      sequenceNumber: 1,
      commitTimestamp: Date.now() - 1000,
      commitNumber: seq,
      commitUser: '0058d000003Hn1KAAS',
      changedFields: ['Name'],
      nulledFields: [],
      diffFields: [],
    },
    Name: 'Acme',
  };
}
const sendJson = (d: TestDaemon, body: string) =>
  post(d, '/webhooks/salesforce', body, {
    'x-portal-sync-signature': signHmac(body, TEST_SECRETS.SALESFORCE_WEBHOOK_SECRET),
  });

describe('objects per request', () => {
  it('a signed Salesforce JSON request of 100 events × 100 recordIds is refused with 413 naming the limit, and nothing is queued', async () => {
    const events = Array.from({ length: 100 }, (_, e) =>
      cdc(Array.from({ length: 100 }, (_, r) => accountId(e * 100 + r))),
    );
    const res = await sendJson(daemon, JSON.stringify({ events }));
    expect(res.status).toBe(413);
    expect(res.json()).toEqual({
      error:
        'this request holds 10000 objects; at most 100 are accepted in one request (webhooks.maxObjectsPerRequest): send them in smaller requests',
      reason: 'too_many_objects',
      limit: 100,
      objects: 10000,
    });
    expect((await queuedJobs(daemon)).length).toBe(0);
    expect(
      await metricValue(daemon, 'portal_sync_webhook_rejections_total', {
        source: 'salesforce',
        reason: 'too_many_objects',
      }),
    ).toBe(1);
  });

  it('counts objects across events: 100 in all is accepted', async () => {
    const events = Array.from({ length: 10 }, (_, e) =>
      cdc(Array.from({ length: 10 }, (_, r) => accountId(50_000 + e * 10 + r))),
    );
    const res = await sendJson(daemon, JSON.stringify({ events }));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 100 });
  });

  it('the limit is configurable, and an Outbound Message over it gets a SOAP fault with 413', async () => {
    expect((await sendJson(small, JSON.stringify(cdc([accountId(1), accountId(2), accountId(3)])))).status).toBe(200);
    const over = await sendJson(small, JSON.stringify(cdc([accountId(4), accountId(5), accountId(6), accountId(7)])));
    expect(over.status).toBe(413);
    expect(over.json()).toMatchObject({ reason: 'too_many_objects', limit: 3, objects: 4 });
    const xml = buildOutboundMessage({
      organizationId: TEST_SECRETS.SALESFORCE_ORG_ID,
      actionId: '04k5e000000TestAAA',
      notifications: [10, 11, 12, 13].map((n) => ({
        id: `04l5e00000Cap${String(n).padStart(4, '0')}A`,
        sObjectType: 'Account',
        fields: { Id: accountId(n), Name: 'Acme', SystemModstamp: new Date().toISOString() },
      })),
    });
    const soap = await post(small, `/webhooks/salesforce?token=${TEST_SECRETS.SALESFORCE_OUTBOUND_TOKEN}`, xml, {
      'content-type': 'text/xml; charset=utf-8',
      soapaction: '""',
    });
    expect(soap.status).toBe(413);
    expect(soap.text).toMatch(
      /<faultstring>this request holds 4 objects; at most 3 are accepted in one request \(webhooks\.maxObjectsPerRequest\)/,
    );
    expect((await queuedJobs(small)).map((j) => j.data.objectId).sort()).toEqual(
      [accountId(1), accountId(2), accountId(3)].sort(),
    );
  });
});
