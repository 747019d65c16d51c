import { describe, expect, it } from 'vitest';
import { buildOutboundMessage } from '../../src/connectors/salesforce/outbound-builder.js';
import { signHmac } from '../../src/webhooks/hmac.js';
import { startTestDaemon, testDaemonForFile, TEST_SECRETS, type TestDaemon } from '../support/daemon.js';
import { fixture, post, queuedJobs } from '../support/http.js';

let daemon: TestDaemon;
const path = `/webhooks/salesforce?token=${TEST_SECRETS.SALESFORCE_OUTBOUND_TOKEN}`;
const xml = { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' };

let notificationSeq = 0;
function accounts(ids: string[], orgId: string = TEST_SECRETS.SALESFORCE_ORG_ID) {
  return buildOutboundMessage({
    organizationId: orgId,
    actionId: '04k5e000000TestAAA',
    notifications: ids.map((id, i) => ({
      id: `04l5e00000Test${String(notificationSeq++).padStart(3, '0')}A`,
      sObjectType: 'Account',
      fields: {
        Id: id,
        Name: `Acme ${i}`,
        SystemModstamp: '2026-11-20T10:00:00.000Z',
        LastModifiedDate: '2026-11-20T10:00:00.000Z',
      },
    })),
  });
}

testDaemonForFile((d) => (daemon = d));

describe('POST /webhooks/salesforce (Outbound Messages)', () => {
  it('enqueues every notification and answers with the SOAP Ack only then', async () => {
    const ids = ['0015e00000AcmeA01', '0015e00000AcmeA02', '0015e00000AcmeA03'];
    const res = await post(daemon, path, accounts(ids), xml);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/xml/);
    expect(res.text).toContain('<Ack>true</Ack>');
    const jobs = (await queuedJobs(daemon)).filter((j) => ids.includes(j.data.objectId));
    expect(jobs.map((j) => j.data.objectId).sort()).toEqual(ids);
  });

  it('acks a retried message without enqueueing its notifications again', async () => {
    const body = accounts(['0015e00000RetryA1']);
    await post(daemon, path, body, xml);
    const retry = await post(daemon, path, body, xml);
    expect(retry.text).toContain('<Ack>true</Ack>');
    expect((await queuedJobs(daemon)).filter((j) => j.data.objectId === '0015e00000RetryA1')).toHaveLength(1);
  });

  it('refuses a message from another organization with a SOAP fault', async () => {
    const res = await post(daemon, path, accounts(['0015e00000OtherA1'], '00D5e000000OtherAAA'), xml);
    expect(res.status).toBe(401);
    expect(res.text).toContain('faultcode');
    expect(res.text).not.toContain('<Ack>true</Ack>');
    expect((await queuedJobs(daemon)).some((j) => j.data.objectId === '0015e00000OtherA1')).toBe(false);
  });

  it('refuses a request without the endpoint token, or with a wrong one', async () => {
    const body = accounts(['0015e00000TokenA1']);
    expect((await post(daemon, '/webhooks/salesforce', body, xml)).status).toBe(400);
    expect((await post(daemon, '/webhooks/salesforce?token=wrong_token_0123456789', body, xml)).status).toBe(401);
    expect((await queuedJobs(daemon)).some((j) => j.data.objectId === '0015e00000TokenA1')).toBe(false);
  });

  it('answers malformed XML with a client fault', async () => {
    const res = await post(daemon, path, '<soapenv:Envelope><soapenv:Body><notifications>', xml);
    expect(res.status).toBe(400);
    expect(res.text).toContain('soapenv:Client');
  });

  it('acks the real fixture of a contact batch and keeps nil fields as null', async () => {
    const body = fixture('salesforce/contacts-outbound-batch.xml');
    const orgId = /<OrganizationId>([^<]+)</.exec(body)![1]!;
    const other = await startTestDaemon({ SALESFORCE_ORG_ID: orgId });
    try {
      const res = await post(other, path, body, xml);
      expect(res.text).toContain('<Ack>true</Ack>');
      const jobs = await queuedJobs(other);
      expect(jobs).toHaveLength(3);
      expect(jobs.every((j) => j.data.data.kind === 'salesforce.contact')).toBe(true);
    } finally {
      await other.stop();
    }
  });
});

describe('POST /webhooks/salesforce (signed JSON events)', () => {
  const secret = TEST_SECRETS.SALESFORCE_WEBHOOK_SECRET;

  it('enqueues one event per record id of a signed CDC event', async () => {
    const body = fixture('salesforce/account-cdc-update.json');
    const res = await post(daemon, '/webhooks/salesforce', body, { 'x-portal-sync-signature': signHmac(body, secret) });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 2 });
    const jobs = (await queuedJobs(daemon)).filter((j) =>
      ['0018d00000QxZ7pAAF', '0018d00000QxZ9aAAF'].includes(j.data.objectId),
    );
    expect(jobs).toHaveLength(2);
  });

  it('refuses an unsigned or wrongly signed JSON event', async () => {
    const body = fixture('salesforce/contact-cdc-create.json');
    expect((await post(daemon, '/webhooks/salesforce', body)).status).toBe(400);
    expect(
      (
        await post(daemon, '/webhooks/salesforce', body, {
          'x-portal-sync-signature': signHmac(body, 'another_secret_0123456789'),
        })
      ).status,
    ).toBe(401);
    const stale = signHmac(body, secret, Math.floor(Date.now() / 1000) - 600);
    expect((await post(daemon, '/webhooks/salesforce', body, { 'x-portal-sync-signature': stale })).json().reason).toBe(
      'stale_timestamp',
    );
  });
});
