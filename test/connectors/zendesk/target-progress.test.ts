/**
 * The Zendesk target keeps a push's progress (PortalPush.done / onDone) against the stand-in with the real
 * SDK: a push whose last call (the status record) fails after the organization's fields and a bulk job of
 * invoices were written makes, on its next try, only the status call, and says what it kept; a changed
 * projection writes the changed fields again. With the push worker's progress on the real Redis
 * (push/progress.ts): when another writer of the customer — a push killed after its calls, before
 * recording them, or a bulk drain — wrote the organization between two tries, the next try writes again.
 * Calls are counted from the stand-in's request log.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import { createZendeskTarget } from '../../../src/connectors/zendesk/target.js';
import { type ZendeskStandIn } from '../../../src/demo/standins/zendesk/index.js';
import { RetryableError } from '../../../src/sync/errors.js';
import type { PortalProjection } from '../../../src/sync/events/project.js';
import type { InvoiceView } from '../../../src/sync/events/record.js';
import type { PortalPush } from '../../../src/sync/push/portal-target.js';
import { markWriters, progressKey, startTry, writerKey } from '../../../src/sync/push/progress.js';
import { createLogger } from '../../../src/log.js';
import { redisUnderPrefix } from '../../support/redis.js';
import { zendeskStandInSetUp, zendeskWritesSince } from '../../support/zendesk-config.js';
import { invoiceView, recordingPush, teamProjection } from '../../support/views.js';

let standIn: ZendeskStandIn;
let config: Config;

beforeEach(async () => {
  ({ standIn, config } = await zendeskStandInSetUp((c) => (c.targets.zendesk.statusObject.enabled = true)));
});
afterEach(() => standIn.close());

const invoice = (id: string): InvoiceView => invoiceView(id, { number: `PROG-${id.slice(-2)}` });
// More than 3 invoices: they go as one custom object job.
const INVOICES = ['in_prog_01', 'in_prog_02', 'in_prog_03', 'in_prog_04', 'in_prog_05'].map(invoice);
const projection = (status: string): PortalProjection => teamProjection(INVOICES, status);

/** A push of `p` to the organization that records the calls it made in `done`, as the push worker does. */
const pushOf = (orgId: number, p: PortalProjection, done: Set<string>): PortalPush =>
  recordingPush(`cust_${orgId}`, { zendeskOrganizationId: String(orgId) }, p, done);
const writesSince = (from: number) => zendeskWritesSince(standIn, from);
const STATUS_CALL = /^PATCH \/custom_objects\/portal_account_status\//;

describe('the Zendesk target keeps the progress of a push', () => {
  it('makes only the missing status call on the next try after the fields and the invoice job were written', async () => {
    const target = createZendeskTarget(config, { jobPolling: { intervalMs: 10 } });
    const org = standIn.seedOrganization({ name: 'Progress Co' });
    const done = new Set<string>();
    standIn.failNext(4, 500, undefined, STATUS_CALL);

    await expect(target.push(pushOf(org.id, projection('active'), done))).rejects.toBeInstanceOf(RetryableError);
    expect(done.size).toBe(1 + INVOICES.length);
    const from = standIn.calls.length;
    const result = await target.push(pushOf(org.id, projection('active'), done));

    expect(writesSince(from)).toEqual([`PATCH /custom_objects/portal_account_status/records 201`]);
    expect(result).toEqual({
      calls: 1,
      wrote: [`status:organization-${org.id}`],
      kept: ['organization_fields', ...INVOICES.map((i) => `invoice:${i.id}`)],
    });
    expect(standIn.state.customObjectRecords.get('portal_invoice')?.size).toBe(INVOICES.length);
  });

  it('writes the fields again when the projection changed between two tries, and keeps the invoices', async () => {
    const target = createZendeskTarget(config, { jobPolling: { intervalMs: 10 } });
    const org = standIn.seedOrganization({ name: 'Progress Co' });
    const done = new Set<string>();
    standIn.failNext(4, 500, undefined, STATUS_CALL);
    await expect(target.push(pushOf(org.id, projection('active'), done))).rejects.toBeInstanceOf(RetryableError);

    const from = standIn.calls.length;
    const result = await target.push(pushOf(org.id, projection('past_due'), done));

    expect(writesSince(from)).toEqual([
      `PUT /organizations/${org.id} 200`,
      `PATCH /custom_objects/portal_account_status/records 201`,
    ]);
    expect(result.kept).toEqual(INVOICES.map((i) => `invoice:${i.id}`));
    expect(standIn.state.organizations.get(org.id)?.organization_fields).toMatchObject({
      billing_status: 'past_due',
    });
  });
});

describe("the Zendesk target with the push worker's progress on the real Redis", () => {
  const { prefix, redis } = redisUnderPrefix();

  // The stand-in starts afresh for each test (its organization ids repeat): each test pushes its own customer.
  let customer = '';
  let n = 0;
  beforeEach(() => {
    customer = `cust_progress_${++n}`;
  });
  const keys = () => ({
    progress: progressKey(prefix, 'zendesk', customer),
    writer: writerKey(prefix, 'zendesk', customer),
  });
  /** One try of the push worker: makes itself the customer's writer, then pushes with the progress it may trust. */
  async function workerTry(orgId: number, p: PortalProjection): Promise<unknown> {
    const progress = await startTry(redis(), keys(), '', createLogger('silent'));
    const push: PortalPush = { ...pushOf(orgId, p, new Set()), done: progress.done, onDone: progress.onDone };
    return createZendeskTarget(config, { jobPolling: { intervalMs: 10 } }).push(push);
  }
  const fieldsOf = (orgId: number) => standIn.state.organizations.get(orgId)?.organization_fields;

  it('makes only the missing status call on the next try when nothing else wrote the customer in between', async () => {
    const org = standIn.seedOrganization({ name: 'Progress Co' });
    standIn.failNext(4, 500, undefined, STATUS_CALL);
    await expect(workerTry(org.id, projection('active'))).rejects.toBeInstanceOf(RetryableError);

    const from = standIn.calls.length;
    await workerTry(org.id, projection('active'));

    expect(writesSince(from)).toEqual([`PATCH /custom_objects/portal_account_status/records 201`]);
  });

  it('keeps the calls on a third try too: the second try records again what it kept', async () => {
    const org = standIn.seedOrganization({ name: 'Progress Co' });
    standIn.failNext(8, 500, undefined, STATUS_CALL);
    await expect(workerTry(org.id, projection('active'))).rejects.toBeInstanceOf(RetryableError);
    await expect(workerTry(org.id, projection('active'))).rejects.toBeInstanceOf(RetryableError);

    const from = standIn.calls.length;
    await workerTry(org.id, projection('active'));

    expect(writesSince(from)).toEqual([`PATCH /custom_objects/portal_account_status/records 201`]);
  });

  it('writes the fields again on the next try when a push killed after its calls (nothing recorded) wrote the organization in between', async () => {
    const org = standIn.seedOrganization({ name: 'Progress Co' });
    standIn.failNext(4, 500, undefined, STATUS_CALL);
    await expect(workerTry(org.id, projection('active'))).rejects.toBeInstanceOf(RetryableError);
    // Another push of the customer, of the state it had a moment before: its token set, its calls made, killed
    // before it recorded any of them.
    const killed = await startTry(redis(), keys(), '', createLogger('silent'));
    expect(killed.done.size).toBe(1 + INVOICES.length);
    await createZendeskTarget(config, { jobPolling: { intervalMs: 10 } }).push(
      pushOf(org.id, projection('past_due'), new Set()),
    );
    expect(fieldsOf(org.id)).toMatchObject({ billing_status: 'past_due' });

    const from = standIn.calls.length;
    await workerTry(org.id, projection('active'));

    expect(writesSince(from)).toContain(`PUT /organizations/${org.id} 200`);
    expect(fieldsOf(org.id)).toMatchObject({ billing_status: 'active' });
  });

  it('writes the fields again on the next try when a bulk drain wrote the organization in between', async () => {
    const org = standIn.seedOrganization({ name: 'Progress Co' });
    standIn.failNext(4, 500, undefined, STATUS_CALL);
    await expect(workerTry(org.id, projection('active'))).rejects.toBeInstanceOf(RetryableError);
    // A resync drain of the customer's state a moment before: it sets the writer token, as drains do, and records nothing.
    await markWriters(redis(), prefix, 'zendesk', [customer]);
    const target = createZendeskTarget(config, { jobPolling: { intervalMs: 10 } });
    const answer = await target.pushMany!([pushOf(org.id, projection('past_due'), new Set())], {
      gate: async () => undefined,
    });
    expect(answer.items[0]?.ok).toBe(true);
    expect(fieldsOf(org.id)).toMatchObject({ billing_status: 'past_due' });

    const from = standIn.calls.length;
    await workerTry(org.id, projection('active'));

    expect(writesSince(from)).toContain(`PUT /organizations/${org.id} 200`);
    expect(fieldsOf(org.id)).toMatchObject({ billing_status: 'active' });
  });
});
