/**
 * The Zendesk stand-in, driven the way the daemon drives Zendesk: through the
 * real node-zendesk 6 client (and, for endpoints it has no wrapper for, the
 * same client's transport via src/connectors/zendesk/client.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import zendesk from 'node-zendesk';
import { afterEach, describe, expect, it } from 'vitest';
import {
  classifyZendeskError,
  createZendeskClient,
  ZendeskApiError,
  zendeskRequest,
} from '../../src/connectors/zendesk/client.js';
import { parseZendeskWebhook } from '../../src/connectors/zendesk/events.js';
import { verifyZendeskSignature } from '../../src/connectors/zendesk/signature.js';
import { listenOnLoopback } from '../../src/demo/standins/common.js';
import {
  startZendeskStandIn,
  ZENDESK_TOO_MANY_REQUESTS,
  type ZendeskJobStatus,
  type ZendeskOrganization,
  type ZendeskStandIn,
  type ZendeskStandInOptions,
  type ZendeskTicket,
  type ZendeskUser,
} from '../../src/demo/standins/zendesk/index.js';
import type { ZendeskBrand } from '../../src/demo/standins/zendesk/brands.js';

const EMAIL = 'sync-agent@acme.example';
const TOKEN = 'zdTestApiToken1111111111111111111111111';
const AUTH = { authorization: `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64')}` };

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function standIn(opts?: ZendeskStandInOptions): Promise<ZendeskStandIn> {
  const z = await startZendeskStandIn(opts);
  open.push(z);
  return z;
}

type SdkClientOptions = Parameters<typeof zendesk.createClient>[0];
function sdk(z: ZendeskStandIn, extra: Partial<SdkClientOptions> = {}) {
  return zendesk.createClient({
    username: EMAIL,
    token: TOKEN,
    endpointUri: z.baseUrl,
    throwOriginalException: true,
    ...extra,
  });
}

/** What node-zendesk resolves with; its typings say less than it returns. */
interface SdkCall<T> {
  response: { status: number; headers: { get(name: string): string | null } };
  result: T;
}
const sdkCall = async <T>(pending: Promise<unknown>): Promise<SdkCall<T>> => (await pending) as SdkCall<T>;
/** node-zendesk types bulk methods as taking arrays, but sends its argument as the body: it must be the envelope. */
const envelope = (body: object) => body as unknown as object[];

const isoSeconds = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('Zendesk stand-in: auth and paths', () => {
  it("answers 401 with Zendesk's body unless the call uses email/token basic auth", async () => {
    const z = await standIn();
    const org = z.seedOrganization({ name: 'Acme' });
    const password = `Basic ${Buffer.from(`${EMAIL}:hunter2`).toString('base64')}`;

    const refused = await fetch(`${z.baseUrl}/organizations/${org.id}.json`, { headers: { authorization: password } });

    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "Couldn't authenticate you" });
    expect(refused.headers.get('x-rate-limit')).toBe('700');
  });

  it('with configured credentials, a wrong token is refused through node-zendesk too', async () => {
    const z = await standIn({ auth: { email: EMAIL, token: TOKEN } });
    const org = z.seedOrganization({ name: 'Acme' });

    const err = await sdk(z, { token: 'not-the-token' })
      .organizations.show(org.id)
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ statusCode: 401, result: { error: "Couldn't authenticate you" } });
    await expect(sdk(z).organizations.show(org.id)).resolves.toMatchObject({ result: { id: org.id } });
  });

  it('serves the same resource with and without the .json suffix node-zendesk appends', async () => {
    const z = await standIn();
    const org = z.seedOrganization({ name: 'Acme' });

    for (const suffix of ['.json', '']) {
      const res = await fetch(`${z.baseUrl}/organizations/${org.id}${suffix}`, { headers: AUTH });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ organization: { id: org.id, name: 'Acme' } });
    }
    expect(z.calls.map((c) => c.path)).toEqual([`/organizations/${org.id}`, `/organizations/${org.id}`]);
  });

  it('answers 404 RecordNotFound for a missing organization, which node-zendesk throws', async () => {
    const z = await standIn();

    const err = await sdk(z)
      .organizations.show(424242)
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ statusCode: 404, result: { error: 'RecordNotFound', description: 'Not found' } });
  });
});

describe('Zendesk stand-in: organizations', () => {
  it('organizations.update merges organization_fields, keeps the rest, and lists defined-but-unset fields as null', async () => {
    const z = await standIn();
    z.seedField('organization', { key: 'plan', type: 'text' });
    z.seedField('organization', { key: 'mrr', type: 'integer' });
    z.seedField('organization', { key: 'renewal_date', type: 'date' });
    const org = z.seedOrganization({
      name: 'Acme',
      external_id: '001ACME',
      organization_fields: { region: 'eu' },
      updated_at: '2026-01-01T00:00:00Z',
    });

    const { response, result } = await sdkCall<ZendeskOrganization>(
      sdk(z).organizations.update(org.id, { organization: { organization_fields: { plan: 'pro', mrr: 34500 } } }),
    );

    expect(response.status).toBe(200);
    expect(result).toMatchObject({
      id: org.id,
      name: 'Acme',
      organization_fields: { region: 'eu', plan: 'pro', mrr: 34500, renewal_date: null },
    });
    expect(z.state.organizations.get(org.id)).toMatchObject({
      external_id: '001ACME',
      organization_fields: { region: 'eu', plan: 'pro', mrr: 34500 },
    });
    expect(z.state.organizations.get(org.id)?.updated_at).not.toBe('2026-01-01T00:00:00Z');
    expect(z.calls.at(-1)).toMatchObject({ method: 'PUT', path: `/organizations/${org.id}`, status: 200 });
  });

  it('organizations.update and users.update answer 200 to a field the account does not define, and drop its value', async () => {
    const z = await standIn();
    z.seedField('organization', { key: 'plan', type: 'text' });
    z.seedField('user', { key: 'plan', type: 'text' });
    const org = z.seedOrganization({ name: 'Acme' });
    const user = z.seedUser({ name: 'Dana', email: 'dana@acme.example' });
    const client = sdk(z);

    const orgAnswer = await sdkCall<ZendeskOrganization>(
      client.organizations.update(org.id, { organization: { organization_fields: { plan: 'pro', undefined_key: 1 } } }),
    );
    const userAnswer = await sdkCall<ZendeskUser>(
      client.users.update(user.id, { user: { user_fields: { plan: 'pro', undefined_key: 1 } } }),
    );

    expect(orgAnswer.response.status).toBe(200);
    expect(orgAnswer.result.organization_fields).toEqual({ plan: 'pro' });
    expect(z.state.organizations.get(org.id)?.organization_fields).toEqual({ plan: 'pro' });
    expect(userAnswer.response.status).toBe(200);
    expect(userAnswer.result.user_fields).toEqual({ plan: 'pro' });
    expect(z.state.users.get(user.id)?.user_fields).toEqual({ plan: 'pro' });
  });

  it('createOrUpdate creates by external_id (201), then updates that same organization (200), matching case-insensitively', async () => {
    const z = await standIn();
    z.seedField('organization', { key: 'plan', type: 'text' });
    const client = sdk(z);

    const created = await sdkCall<ZendeskOrganization>(
      client.organizations.createOrUpdate({ organization: { name: 'Acme', external_id: '001ACME' } }),
    );
    const updated = await sdkCall<ZendeskOrganization>(
      client.organizations.createOrUpdate({
        organization: { external_id: '001acme', organization_fields: { plan: 'pro' } },
      }),
    );

    expect(created.response.status).toBe(201);
    expect(updated.response.status).toBe(200);
    expect(updated.result.id).toBe(created.result.id);
    expect(z.state.organizations.size).toBe(1);
    expect(await client.organizations.showManyByExternalIds(['001ACME'])).toEqual([
      expect.objectContaining({ id: created.result.id, organization_fields: { plan: 'pro' } }),
    ]);
  });

  it("refuses to create an organization without a name, with Zendesk's RecordInvalid body", async () => {
    const z = await standIn();

    const err = await sdk(z)
      .organizations.createOrUpdate({ organization: { external_id: '001NEW' } })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({
      statusCode: 422,
      result: {
        error: 'RecordInvalid',
        description: 'Record validation errors',
        details: { name: [{ error: 'BlankValue' }] },
      },
    });
    expect(z.state.organizations.size).toBe(0);
  });

  it('updateMany answers a queued job; jobstatuses.show then reports it completed with one result per item', async () => {
    const z = await standIn();
    z.seedField('organization', { key: 'plan', type: 'text' });
    const client = sdk(z);
    const a = z.seedOrganization({ name: 'A' });
    const b = z.seedOrganization({ name: 'B' });

    const queued = await sdkCall<{ job_status: ZendeskJobStatus }>(
      client.organizations.updateMany(
        envelope({
          organizations: [
            { id: a.id, organization_fields: { plan: 'pro' } },
            { id: b.id, organization_fields: { plan: 'team' } },
            { id: 99, organization_fields: { plan: 'gone' } },
          ],
        }),
      ),
    );
    expect(queued.result.job_status).toMatchObject({ status: 'queued', total: 3, results: null });
    expect(queued.result.job_status.url).toBe(`${z.baseUrl}/job_statuses/${queued.result.job_status.id}.json`);

    const done = await sdkCall<{ job_status: ZendeskJobStatus }>(client.jobstatuses.show(queued.result.job_status.id));

    expect(done.result.job_status).toMatchObject({
      status: 'completed',
      total: 3,
      progress: 3,
      results: [
        { id: a.id, index: 0, action: 'update', status: 'Updated', success: true },
        { id: b.id, index: 1, action: 'update', status: 'Updated', success: true },
        { id: 99, index: 2, action: 'update', status: 'Failed', success: false, error: 'RecordNotFound' },
      ],
    });
    expect(z.state.organizations.get(a.id)?.organization_fields).toEqual({ plan: 'pro' });
    expect(z.state.organizations.get(b.id)?.organization_fields).toEqual({ plan: 'team' });
  });

  it('a job can be made to report working first; jobstatuses.watch polls until completed', async () => {
    const z = await standIn({ jobPollsUntilComplete: 2 });
    const client = sdk(z);
    const org = z.seedOrganization({ name: 'A' });
    const queued = await sdkCall<{ job_status: ZendeskJobStatus }>(
      client.organizations.updateMany(
        envelope({ organizations: [{ id: org.id, organization_fields: { plan: 'pro' } }] }),
      ),
    );

    const watched = await client.jobstatuses.watch(queued.result.job_status.id, 10, 5);

    expect(watched).toMatchObject({ status: 'completed', results: [{ id: org.id, success: true }] });
    const polls = z.calls.filter((c) => c.path === `/job_statuses/${queued.result.job_status.id}`);
    expect(polls).toHaveLength(2);
  });

  it('rejects bulk bodies that are not the {organizations: [...]} envelope, or hold more than 100', async () => {
    const z = await standIn();
    const client = sdk(z);

    // What node-zendesk's typings suggest (a bare array) is sent as-is, and is not what Zendesk takes.
    const bare = await client.organizations.updateMany([{ id: 1, organization_fields: {} }]).catch((e: unknown) => e);
    const tooMany = await client.organizations
      .updateMany(envelope({ organizations: Array.from({ length: 101 }, (_, i) => ({ id: i + 1 })) }))
      .catch((e: unknown) => e);

    expect(bare).toMatchObject({ statusCode: 400 });
    expect(tooMany).toMatchObject({ statusCode: 400, result: { error: 'InvalidValue' } });
  });

  it('organizations.list walks every page by links.next (cursor pagination, page[size]=100)', async () => {
    const z = await standIn();
    for (let i = 0; i < 250; i++) z.seedOrganization({ name: `Org ${i}` });

    const all = (await sdk(z).organizations.list()) as ZendeskOrganization[];

    expect(all).toHaveLength(250);
    expect(new Set(all.map((o) => o.id)).size).toBe(250);
    expect(z.calls.map((c) => c.query)).toEqual([
      'page%5Bsize%5D=100',
      expect.stringContaining('page[after]='),
      expect.stringContaining('page[after]='),
    ]);
  });

  it('organizations.incremental exports organizations changed since start_time, leaving out the last minute', async () => {
    const z = await standIn();
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const old = z.seedOrganization({ name: 'Old', updated_at: isoSeconds(hourAgo) });
    z.seedOrganization({ name: 'Just now' });

    const exported = await sdk(z).organizations.incremental(String(hourAgo - 10));

    expect(exported).toEqual([expect.objectContaining({ id: old.id, name: 'Old' })]);
  });
});

describe('Zendesk stand-in: users and fields', () => {
  it('users.createOrUpdateMany matches by email (any case) or external_id, creates the rest, and reports each item', async () => {
    const z = await standIn();
    z.seedField('user', { key: 'plan', type: 'text' });
    const client = sdk(z);
    const dana = z.seedUser({ name: 'Dana Buyer', email: 'Dana.Buyer@acme.example' });

    const queued = await sdkCall<{ job_status: ZendeskJobStatus }>(
      client.users.createOrUpdateMany(
        envelope({
          users: [
            { email: 'dana.buyer@acme.example', user_fields: { plan: 'pro' } },
            { name: 'Sam New', email: 'sam@acme.example', external_id: 'cus_SAM' },
            { email: 'nameless@acme.example' },
          ],
        }),
      ),
    );
    const done = await sdkCall<{ job_status: ZendeskJobStatus }>(client.jobstatuses.show(queued.result.job_status.id));

    const sam = [...z.state.users.values()].find((u) => u.external_id === 'cus_SAM');
    expect(done.result.job_status.results).toEqual([
      { id: dana.id, index: 0, action: 'update', status: 'Updated', success: true, email: 'dana.buyer@acme.example' },
      {
        id: sam?.id,
        index: 1,
        action: 'create',
        status: 'Created',
        success: true,
        email: 'sam@acme.example',
        external_id: 'cus_SAM',
      },
      expect.objectContaining({
        index: 2,
        status: 'Failed',
        success: false,
        error: 'UserCreateError',
        email: 'nameless@acme.example',
      }),
    ]);
    expect(z.state.users.get(dana.id)?.user_fields).toEqual({ plan: 'pro' });
    expect(z.state.users.size).toBe(2);

    // Matched by external_id this time, so the email changes on the same user.
    const again = await sdkCall<{ job_status: ZendeskJobStatus }>(
      client.users.createOrUpdateMany(envelope({ users: [{ external_id: 'cus_sam', email: 'sam.new@acme.example' }] })),
    );
    const second = await sdkCall<{ job_status: ZendeskJobStatus }>(client.jobstatuses.show(again.result.job_status.id));
    expect(second.result.job_status.results).toMatchObject([{ id: sam?.id, status: 'Updated' }]);
    expect(z.state.users.get(sam?.id ?? 0)?.email).toBe('sam.new@acme.example');
  });

  it('users.update merges user_fields; users.createOrUpdate answers 201 then 200', async () => {
    const z = await standIn();
    z.seedField('user', { key: 'tier', type: 'text' });
    z.seedField('user', { key: 'seats', type: 'integer' });
    const client = sdk(z);

    const created = await sdkCall<ZendeskUser>(
      client.users.createOrUpdate({ user: { name: 'Lee', email: 'lee@acme.example', user_fields: { tier: 'gold' } } }),
    );
    const updated = await sdkCall<ZendeskUser>(
      client.users.update(created.result.id, { user: { user_fields: { seats: 5 } } }),
    );
    const again = await sdkCall<ZendeskUser>(
      client.users.createOrUpdate({ user: { email: 'LEE@acme.example', name: 'Lee Park' } }),
    );

    expect(created.response.status).toBe(201);
    expect(updated.result.user_fields).toEqual({ tier: 'gold', seats: 5 });
    expect(again.response.status).toBe(200);
    expect(z.state.users.get(created.result.id)).toMatchObject({
      name: 'Lee Park',
      user_fields: { tier: 'gold', seats: 5 },
    });
  });

  it('keeps organization and user field definitions, so setup can see what exists; a duplicate key is RecordInvalid', async () => {
    const z = await standIn();
    const client = sdk(z);

    const plan = await sdkCall<{ id: number; key: string }>(
      client.organizationfields.create({ organization_field: { key: 'portal_plan', type: 'text', title: 'Plan' } }),
    );
    await client.userfields.create({
      user_field: {
        key: 'portal_role',
        type: 'dropdown',
        title: 'Role',
        custom_field_options: [{ name: 'Owner', value: 'owner' }],
      },
    });
    const duplicate = await client.organizationfields
      .create({ organization_field: { key: 'portal_plan', type: 'text', title: 'Plan again' } })
      .catch((e: unknown) => e);

    expect(plan.response.status).toBe(201);
    expect(plan.result).toMatchObject({ key: 'portal_plan', type: 'text', title: 'Plan', active: true });
    expect(duplicate).toMatchObject({
      statusCode: 422,
      result: { error: 'RecordInvalid', details: { key: [{ error: 'DuplicateValue' }] } },
    });
    expect(await client.organizationfields.list()).toEqual([
      expect.objectContaining({ id: plan.result.id, key: 'portal_plan' }),
    ]);
    expect(z.state.userFields).toMatchObject([
      { key: 'portal_role', custom_field_options: [{ name: 'Owner', value: 'owner' }] },
    ]);
  });
});

describe('Zendesk stand-in: custom objects and profile events (generic requests)', () => {
  const daemonClient = (z: ZendeskStandIn) =>
    createZendeskClient({ baseUrl: z.baseUrl, email: EMAIL, apiToken: TOKEN, webhookSecrets: [] });

  it('upserts a record by external_id: 201 when created, 200 when updated, fields merged', async () => {
    const z = await standIn();
    const client = daemonClient(z);
    await zendeskRequest(client, 'POST', ['custom_objects'], {
      custom_object: { key: 'subscription', title: 'Subscription', title_pluralized: 'Subscriptions' },
    });
    await zendeskRequest(client, 'POST', ['custom_objects', 'subscription', 'fields'], {
      custom_object_field: { key: 'status', type: 'text', title: 'Status' },
    });
    const path = ['custom_objects', 'subscription', 'records', { external_id: 'sub_1' }];

    const created = await client.users.transporter.request('PATCH', [...path], {
      custom_object_record: { name: 'sub_1', custom_object_fields: { status: 'active', mrr: 100 } },
    });
    const updated = await client.users.transporter.request('PATCH', [...path], {
      custom_object_record: { custom_object_fields: { status: 'past_due' } },
    });

    expect(created.response.status).toBe(201);
    expect(updated.response.status).toBe(200);
    expect(updated.result).toMatchObject({
      custom_object_record: {
        external_id: 'sub_1',
        name: 'sub_1',
        custom_object_key: 'subscription',
        custom_object_fields: { status: 'past_due', mrr: 100 },
      },
    });
    expect(z.state.customObjectRecords.get('subscription')?.get('sub_1')?.custom_object_fields).toEqual({
      status: 'past_due',
      mrr: 100,
    });
    expect(z.state.customObjectFields.get('subscription')).toMatchObject([{ key: 'status', type: 'text' }]);
    await expect(
      zendeskRequest(client, 'GET', ['custom_objects', 'subscription', 'records', { external_id: 'sub_1' }]),
    ).resolves.toMatchObject({
      custom_object_records: [{ external_id: 'sub_1' }],
    });
  });

  it('runs a create_or_update_by_external_id job, then lists records by cursor (meta.has_more, links.next)', async () => {
    const z = await standIn();
    const client = daemonClient(z);
    z.seedCustomObject('invoice', { fields: [{ key: 'amount_due', type: 'integer' }] });
    const items = Array.from({ length: 5 }, (_, i) => ({
      external_id: `in_${i}`,
      name: `in_${i}`,
      custom_object_fields: { amount_due: i * 100 },
    }));

    const queued = (await zendeskRequest(client, 'POST', ['custom_objects', 'invoice', 'jobs'], {
      job: { action: 'create_or_update_by_external_id', items },
    })) as {
      job_status: ZendeskJobStatus;
    };
    const done = await sdkCall<{ job_status: ZendeskJobStatus }>(sdk(z).jobstatuses.show(queued.job_status.id));
    expect(done.result.job_status).toMatchObject({ status: 'completed', total: 5 });
    expect(done.result.job_status.results?.map((r) => r.status)).toEqual([
      'Created',
      'Created',
      'Created',
      'Created',
      'Created',
    ]);

    const seen: string[] = [];
    let next: string | null = null;
    let page = (await zendeskRequest(client, 'GET', ['custom_objects', 'invoice', 'records', { 'page[size]': 2 }])) as {
      custom_object_records: { external_id: string }[];
      meta: { has_more: boolean };
      links: { next: string | null };
    };
    for (;;) {
      seen.push(...page.custom_object_records.map((r) => r.external_id));
      next = page.links.next;
      if (!page.meta.has_more || next === null) break;
      // links.next is absolute, as Zendesk's; node-zendesk passes a full URL through untouched.
      page = (await client.users.transporter.request('GET', next)).result as typeof page;
    }
    expect(seen).toEqual(['in_0', 'in_1', 'in_2', 'in_3', 'in_4']);
  });

  it('answers 404 with an errors list for a custom object that does not exist, and a record without a name is refused', async () => {
    const z = await standIn();
    const client = daemonClient(z);
    z.seedCustomObject('subscription');

    const missing = await zendeskRequest(client, 'GET', ['custom_objects', 'nope', 'records']).catch((e: unknown) => e);
    const nameless = await zendeskRequest(
      client,
      'PATCH',
      ['custom_objects', 'subscription', 'records', { external_id: 'sub_2' }],
      {
        custom_object_record: { custom_object_fields: { status: 'active' } },
      },
    ).catch((e: unknown) => e);

    expect(missing).toBeInstanceOf(ZendeskApiError);
    expect(classifyZendeskError(missing)).toEqual({
      retryable: false,
      status: 404,
      message: 'Zendesk 404: NotFound: Not Found: Custom object not found',
    });
    expect(nameless).toMatchObject({ status: 422 });
    expect(z.state.customObjectRecords.get('subscription')?.size).toBe(0);
  });

  it('takes a user profile event (202 {status: "received"}) and reads it back by identifier', async () => {
    const z = await standIn();
    const client = daemonClient(z);
    const dana = z.seedUser({ name: 'Dana', email: 'dana.buyer@acme.example' });
    const event = {
      profile: {
        source: 'portal',
        type: 'customer',
        identifiers: [{ type: 'email', value: 'Dana.Buyer@acme.example' }],
      },
      event: {
        source: 'portal',
        type: 'invoice_paid',
        description: 'Invoice paid',
        properties: { invoiceId: 'in_1', amount: 34500 },
      },
    };

    await expect(zendeskRequest(client, 'POST', ['user_profiles', 'events'], event)).resolves.toEqual({
      status: 'received',
    });

    expect(z.state.profileEvents).toMatchObject([{ user_id: dana.id, profile: event.profile, event: event.event }]);
    for (const identifier of ['email:dana.buyer@acme.example', 'portal:customer:email:DANA.BUYER@acme.example']) {
      await expect(zendeskRequest(client, 'GET', ['user_profiles', 'events', { identifier }])).resolves.toMatchObject({
        data: [{ type: 'invoice_paid', source: 'portal', user_id: String(dana.id), properties: { invoiceId: 'in_1' } }],
      });
    }
    await expect(
      zendeskRequest(client, 'GET', [
        'user_profiles',
        'events',
        { identifier: 'other:customer:email:dana.buyer@acme.example' },
      ]),
    ).resolves.toMatchObject({ data: [] });
  });

  it('files events under one profile per source, type and identifier, finds it by identifier query or by user, and deletes it with its events (204, then 404)', async () => {
    const z = await standIn();
    const client = daemonClient(z);
    const dana = z.seedUser({ name: 'Dana', email: 'dana.buyer@acme.example' });
    const post = (source: string, type: string) =>
      zendeskRequest(client, 'POST', ['user_profiles', 'events'], {
        profile: { source, type: 'customer', identifiers: [{ type: 'email', value: 'Dana.Buyer@acme.example' }] },
        event: { source, type, properties: {} },
      });
    await post('portal_sync', 'self_service_deflected');
    await post('portal_sync', 'self_service_escalated');
    await post('shop', 'order_placed');
    // Without a matching user, Zendesk creates one for the profile.
    await zendeskRequest(client, 'POST', ['user_profiles', 'events'], {
      profile: {
        source: 'portal_sync',
        type: 'customer',
        identifiers: [{ type: 'email', value: 'new.person@acme.example' }],
      },
      event: { source: 'portal_sync', type: 'self_service_deflected', properties: {} },
    });
    expect(z.state.profiles.size).toBe(3);

    const own = (await zendeskRequest(client, 'GET', [
      'user_profiles',
      { identifier: 'portal_sync:customer:email:dana.buyer@acme.example' },
    ])) as { profile: { id: string } };
    expect(own.profile).toMatchObject({
      source: 'portal_sync',
      type: 'customer',
      user_id: String(dana.id),
      identifiers: [{ type: 'email', value: 'Dana.Buyer@acme.example' }],
    });
    const byUser = (await zendeskRequest(client, 'GET', ['users', dana.id, 'profiles'])) as {
      profiles: Array<{ id: string; source: string }>;
    };
    expect(byUser.profiles.map((p) => p.source).sort()).toEqual(['portal_sync', 'shop']);
    await expect(zendeskRequest(client, 'GET', ['user_profiles', own.profile.id])).resolves.toMatchObject({
      profile: { id: own.profile.id },
    });
    const partial = await zendeskRequest(client, 'GET', [
      'user_profiles',
      { identifier: 'portal_sync:customer' },
    ]).catch((e: unknown) => e);
    expect(classifyZendeskError(partial)).toMatchObject({ status: 400 });

    const deleted = await client.users.transporter.request('DELETE', ['user_profiles', own.profile.id], null);
    expect(deleted.response.status).toBe(204);
    expect(z.state.profileEvents.map((e) => e.event.type).sort()).toEqual(['order_placed', 'self_service_deflected']);
    expect(z.state.profileEvents.every((e) => e.profile_id !== own.profile.id)).toBe(true);
    for (const call of [
      zendeskRequest(client, 'DELETE', ['user_profiles', own.profile.id]),
      zendeskRequest(client, 'GET', [
        'user_profiles',
        { identifier: 'portal_sync:customer:email:dana.buyer@acme.example' },
      ]),
    ]) {
      const gone = await call.catch((e: unknown) => e);
      expect(classifyZendeskError(gone)).toEqual({
        retryable: false,
        status: 404,
        message: 'Zendesk 404: NotFound: Not Found: Profile not found',
      });
    }
    await expect(zendeskRequest(client, 'GET', ['users', dana.id, 'profiles'])).resolves.toMatchObject({
      profiles: [{ source: 'shop' }],
    });
  });
});

describe('Zendesk stand-in: tickets', () => {
  it('shows and updates a ticket; the update moves generated_timestamp forward', async () => {
    const z = await standIn();
    const client = sdk(z);
    const ticket = z.seedTicket({
      subject: 'Cannot download invoice',
      status: 'open',
      updated_at: '2026-03-01T07:12:07Z',
    });

    const shown = await sdkCall<ZendeskTicket>(client.tickets.show(ticket.id));
    const updated = await sdkCall<ZendeskTicket>(
      client.tickets.update(ticket.id, {
        ticket: { status: 'solved', custom_fields: [{ id: 360001, value: 'paid' }] },
      }),
    );

    expect(shown.result).toMatchObject({ id: ticket.id, subject: 'Cannot download invoice', status: 'open' });
    expect(updated.result).toMatchObject({ status: 'solved', custom_fields: [{ id: 360001, value: 'paid' }] });
    expect(z.state.tickets.get(ticket.id)?.generated_timestamp).toBeGreaterThan(
      Date.parse('2026-03-01T07:12:07Z') / 1000,
    );
  });

  it('ticketexport.exportCursor pages 1000 at a time by after_cursor until end_of_stream, without the last minute', async () => {
    const z = await standIn();
    const client = sdk(z);
    const start = Math.floor(Date.now() / 1000) - 7200;
    for (let i = 0; i < 1500; i++) z.seedTicket({ subject: `T${i}`, updated_at: isoSeconds(start + i) });
    const fresh = z.seedTicket({ subject: 'changed seconds ago' });

    const first = await sdkCall<{ tickets: ZendeskTicket[]; after_cursor: string; end_of_stream: boolean }>(
      client.ticketexport.exportCursor(start),
    );
    const second = await sdkCall<{
      tickets: ZendeskTicket[];
      after_cursor: string;
      end_of_stream: boolean;
      after_url: string;
    }>(client.ticketexport.exportCursor(start, first.result.after_cursor));

    expect(first.result.tickets).toHaveLength(1000);
    expect(first.result.end_of_stream).toBe(false);
    expect(second.result.tickets).toHaveLength(500);
    expect(second.result.end_of_stream).toBe(true);
    expect(second.result.after_url).toBe(
      `${z.baseUrl}/incremental/tickets/cursor.json?cursor=${second.result.after_cursor}`,
    );
    const ids = [...first.result.tickets, ...second.result.tickets].map((t) => t.id);
    expect(new Set(ids).size).toBe(1500);
    expect(ids).not.toContain(fresh.id);
    // node-zendesk 6 sends `cursor=undefined` with the first page; the stand-in reads that as no cursor.
    expect(z.calls.find((c) => c.path === '/incremental/tickets/cursor')?.query).toContain('cursor=undefined');
  });

  it('exports users by cursor as well', async () => {
    const z = await standIn();
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const user = z.seedUser({ name: 'Old', email: 'old@acme.example', updated_at: isoSeconds(hourAgo) });
    const client = createZendeskClient({ baseUrl: z.baseUrl, email: EMAIL, apiToken: TOKEN, webhookSecrets: [] });

    const page = await zendeskRequest(client, 'GET', ['incremental', 'users', 'cursor', { start_time: hourAgo - 1 }]);

    expect(page).toMatchObject({ users: [{ id: user.id, email: 'old@acme.example' }], end_of_stream: true });
  });
});

describe('Zendesk stand-in: brands', () => {
  it('lists brands sorted by name and shows one through node-zendesk, in the Brands API shape; an unknown brand is 404', async () => {
    const z = await standIn();
    const client = sdk(z);
    const acme = z.seedBrand({ name: 'Acme', subdomain: 'acme', host_mapping: 'help.acme.test' });
    const globex = z.seedBrand({ name: 'Globex', subdomain: 'globex' });

    const listed = await sdkCall<ZendeskBrand[]>(client.brand.list());
    // node-zendesk's brand.show resolves with the whole body, { brand }.
    const shown = await sdkCall<{ brand: ZendeskBrand }>(client.brand.show(globex.id));

    expect(listed.result.map((b) => [b.name, b.default])).toEqual([
      ['Acme', true],
      ['Globex', false],
    ]);
    expect(shown.result.brand).toMatchObject({
      id: globex.id,
      name: 'Globex',
      subdomain: 'globex',
      brand_url: 'https://globex.zendesk.com',
      host_mapping: null,
      has_help_center: true,
      help_center_state: 'enabled',
      active: true,
      is_deleted: false,
      url: `${z.baseUrl}/brands/${globex.id}.json`,
    });
    expect(acme.host_mapping).toBe('help.acme.test');
    const missing = await fetch(`${z.baseUrl}/brands/1.json`, { headers: AUTH });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'RecordNotFound', description: 'Not found' });
  });

  it('pages brands by cursor when page[size] is given', async () => {
    const z = await standIn();
    for (const name of ['C', 'A', 'B']) z.seedBrand({ name, subdomain: name.toLowerCase() });
    const first = (await (await fetch(`${z.baseUrl}/brands.json?page[size]=2`, { headers: AUTH })).json()) as {
      brands: ZendeskBrand[];
      meta: { has_more: boolean };
      links: { next: string };
    };
    expect(first.brands.map((b) => b.name)).toEqual(['A', 'B']);
    expect(first.meta.has_more).toBe(true);
    const second = (await (await fetch(first.links.next, { headers: AUTH })).json()) as {
      brands: ZendeskBrand[];
      meta: { has_more: boolean };
    };
    expect(second.brands.map((b) => b.name)).toEqual(['C']);
  });

  it('gives a ticket created without a brand the default brand, keeps a brand it was given, and exports tickets with brand_id', async () => {
    const z = await standIn();
    const acme = z.seedBrand({ name: 'Acme', subdomain: 'acme' });
    const globex = z.seedBrand({ name: 'Globex', subdomain: 'globex' });
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const plain = z.seedTicket({ subject: 'no brand given', updated_at: isoSeconds(hourAgo) });
    const branded = z.seedTicket({
      subject: 'Globex ticket',
      brand_id: globex.id,
      updated_at: isoSeconds(hourAgo + 1),
    });
    const client = createZendeskClient({ baseUrl: z.baseUrl, email: EMAIL, apiToken: TOKEN, webhookSecrets: [] });

    const page = (await zendeskRequest(client, 'GET', [
      'incremental',
      'tickets',
      'cursor',
      { start_time: hourAgo - 1 },
    ])) as { tickets: ZendeskTicket[] };

    expect(page.tickets.map((t) => [t.id, t.brand_id])).toEqual([
      [plain.id, acme.id],
      [branded.id, globex.id],
    ]);
  });

  it('keeps tickets unbranded in an account with no brand seeded, as before', async () => {
    const z = await standIn();
    expect(z.seedTicket({}).brand_id).toBeNull();
  });
});

describe('Zendesk stand-in: rate limit, failures and faults', () => {
  it('counts every call in X-Rate-Limit headers and, past the rate, answers 429 + Retry-After (which node-zendesk resolves, not throws)', async () => {
    let clock = Date.parse('2026-03-03T12:00:00Z');
    const z = await standIn({ rate: { max: 3, perMs: 60_000 }, now: () => clock });
    const client = sdk(z);
    const org = z.seedOrganization({ name: 'Acme' });

    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i++) {
      const ok = await sdkCall<ZendeskOrganization>(client.organizations.show(org.id));
      expect(ok.response.headers.get('x-rate-limit')).toBe('3');
      remaining.push(ok.response.headers.get('x-rate-limit-remaining'));
    }
    clock += 20_000;
    const limited = await sdkCall<unknown>(client.organizations.show(org.id));

    expect(remaining).toEqual(['2', '1', '0']);
    expect(limited.response.status).toBe(429);
    expect(limited.result).toBeInstanceOf(Error); // node-zendesk's quirk: resolved, with an Error as the result
    expect(limited.response.headers.get('retry-after')).toBe('40');
    expect(limited.response.headers.get('ratelimit-reset')).toBe('40');
    expect(classifyZendeskError(limited)).toMatchObject({ retryable: true, status: 429, retryAfterMs: 40_000 });

    const raw = await fetch(`${z.baseUrl}/organizations/${org.id}.json`, { headers: AUTH });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await raw.text()).toBe(ZENDESK_TOO_MANY_REQUESTS);

    clock += 40_000; // a new window
    await expect(sdkCall<ZendeskOrganization>(client.organizations.show(org.id))).resolves.toMatchObject({
      response: { status: 200 },
    });
  });

  it("failNext(1, 422) fails the next write with Zendesk's RecordInvalid body and changes nothing; reads pass", async () => {
    const z = await standIn();
    z.seedField('organization', { key: 'plan', type: 'text' });
    const client = sdk(z);
    const org = z.seedOrganization({ name: 'Acme', organization_fields: { plan: 'team' } });
    z.failNext(1, 422);

    await expect(client.organizations.show(org.id)).resolves.toMatchObject({ result: { id: org.id } });
    const err = await client.organizations
      .update(org.id, { organization: { organization_fields: { plan: 'pro' } } })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({
      statusCode: 422,
      result: { error: 'RecordInvalid', description: 'Record validation errors', details: {} },
    });
    expect(classifyZendeskError(err)).toMatchObject({ retryable: false, status: 422 });
    expect(z.state.organizations.get(org.id)?.organization_fields).toEqual({ plan: 'team' });
    expect(z.calls.at(-1)).toMatchObject({ method: 'PUT', status: 422, fault: 'failNext' });

    await client.organizations.update(org.id, { organization: { organization_fields: { plan: 'pro' } } });
    expect(z.state.organizations.get(org.id)?.organization_fields).toEqual({ plan: 'pro' });
  });

  it('failNext with a match fails only the writes it matches: the others pass and the failure waits for its call', async () => {
    const z = await standIn();
    z.seedField('organization', { key: 'plan', type: 'text' });
    const client = sdk(z);
    const org = z.seedOrganization({ name: 'Acme', organization_fields: { plan: 'team' } });
    z.seedCustomObject('portal_invoice');
    z.failNext(1, 500, undefined, /^PATCH \/custom_objects\/portal_invoice\//);

    await client.organizations.update(org.id, { organization: { organization_fields: { plan: 'pro' } } });
    expect(z.state.organizations.get(org.id)?.organization_fields).toEqual({ plan: 'pro' });
    const path = ['custom_objects', 'portal_invoice', 'records', { external_id: 'in_1' }] as const;
    const body = { custom_object_record: { name: 'in_1', custom_object_fields: {} } };
    const err = await zendeskRequest(client, 'PATCH', [...path], body).catch((e: unknown) => e);

    expect(classifyZendeskError(err)).toMatchObject({ retryable: true, status: 500 });
    expect(z.calls.at(-1)).toMatchObject({ method: 'PATCH', status: 500, fault: 'failNext' });
    await zendeskRequest(client, 'PATCH', [...path], body);
    expect(z.state.customObjectRecords.get('portal_invoice')?.has('in_1')).toBe(true);
  });

  it("failNext takes a body of the test's choosing, which the daemon's error classification reads", async () => {
    const z = await standIn();
    const client = createZendeskClient({ baseUrl: z.baseUrl, email: EMAIL, apiToken: TOKEN, webhookSecrets: [] });
    z.seedCustomObject('subscription');
    z.failNext(1, 422, {
      error: 'RecordInvalid',
      description: 'Record validation errors',
      details: { mrr: [{ description: 'Mrr: is not a number', error: 'InvalidValue' }] },
    });

    const err = await zendeskRequest(
      client,
      'PATCH',
      ['custom_objects', 'subscription', 'records', { external_id: 'sub_1' }],
      {
        custom_object_record: { name: 'sub_1', custom_object_fields: { mrr: 'lots' } },
      },
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ZendeskApiError);
    expect(classifyZendeskError(err)).toEqual({
      retryable: false,
      status: 422,
      message: 'Zendesk 422: RecordInvalid: Record validation errors',
    });
  });

  it('injects seeded faults reproducibly: the same seed fails the same calls the same way', async () => {
    const run = async (seed: number) => {
      const z = await standIn({ faults: { rate: 0.3, kinds: ['500', '503', 'reset'], seed } });
      const org = z.seedOrganization({ name: 'Acme' });
      const outcomes: (number | string)[] = [];
      for (let i = 0; i < 40; i++) {
        outcomes.push(
          await fetch(`${z.baseUrl}/organizations/${org.id}.json`, { headers: AUTH }).then(
            (r) => r.status,
            () => 'reset',
          ),
        );
      }
      return { outcomes, faults: z.calls.map((c) => c.fault ?? null) };
    };

    const a = await run(7);
    const b = await run(7);
    const c = await run(8);

    expect(a).toEqual(b);
    expect(a.faults).toHaveLength(40);
    expect(a.outcomes).not.toEqual(c.outcomes);
    expect(new Set(a.outcomes)).toEqual(new Set([200, 500, 503, 'reset']));
    expect(a.outcomes.filter((o) => o !== 200).length).toBeGreaterThan(4);
  });

  it('a timeout fault hangs past the client deadline; setFaults(null) turns faults off', async () => {
    const z = await standIn({ faults: { rate: 1, kinds: ['timeout'] } });
    const org = z.seedOrganization({ name: 'Acme' });
    const client = sdk(z, {
      transportConfig: {
        transportFn: (uri: string, init: RequestInit) => fetch(uri, { ...init, signal: AbortSignal.timeout(200) }),
        responseAdapter: (res: Response) => ({
          json: () => res.json(),
          status: res.status,
          headers: { get: (name: string) => res.headers.get(name) },
          statusText: res.statusText,
        }),
      },
    });

    const err = await client.organizations.show(org.id).catch((e: unknown) => e);

    expect(err).toMatchObject({ name: 'TimeoutError' });
    expect(classifyZendeskError(err).retryable).toBe(true);
    expect(z.calls[0]).toMatchObject({ status: 0, fault: 'timeout' });
    z.setFaults(null);
    await expect(client.organizations.show(org.id)).resolves.toMatchObject({ result: { id: org.id } });
  });
});

describe('Zendesk stand-in: echo webhooks', () => {
  async function receiver() {
    const received: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
    const server = await listenOnLoopback((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
      });
    });
    open.push(server);
    return { url: `${server.origin}/webhooks/zendesk`, received };
  }
  const header = (h: IncomingHttpHeaders, name: string) => {
    const v = h[name];
    return Array.isArray(v) ? v[0] : v;
  };

  it('echoes our own organization write as a signed organization.custom_field_changed that the daemon verifies and parses', async () => {
    const hook = await receiver();
    const z = await standIn({ webhook: { url: hook.url, secret: 'zd-webhook-secret' } });
    z.seedField('organization', { key: 'portal_plan', type: 'text', title: 'Plan' });
    const org = z.seedOrganization({
      name: 'Acme',
      external_id: '001ACME',
      organization_fields: { portal_plan: 'team', region: 'eu' },
    });

    // region is written with the value it already has: only portal_plan changes, so only it is echoed.
    await sdk(z).organizations.update(org.id, {
      organization: { name: 'Acme', organization_fields: { portal_plan: 'pro', region: 'eu' } },
    });
    await z.flushWebhooks();

    expect(hook.received).toHaveLength(1);
    const [hit] = hook.received;
    if (!hit) throw new Error('no webhook');
    expect(header(hit.headers, 'user-agent')).toBe('Zendesk Webhook');
    const verdict = verifyZendeskSignature({
      rawBody: hit.body,
      signature: header(hit.headers, 'x-zendesk-webhook-signature'),
      timestamp: header(hit.headers, 'x-zendesk-webhook-signature-timestamp'),
      secret: 'zd-webhook-secret',
      toleranceSeconds: 300,
    });
    expect(verdict).toEqual({ ok: true });
    const body = JSON.parse(hit.body.toString('utf8')) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'zen:event-type:organization.custom_field_changed',
      subject: `zen:organization:${org.id}`,
      zendesk_event_version: '2022-06-20',
      detail: { id: String(org.id), external_id: '001ACME', name: 'Acme' },
      event: { current: 'pro', previous: 'team', custom_field: { title: 'Plan', field_type: 'text' } },
    });
    const parsed = parseZendeskWebhook(body, {
      signedAt: header(hit.headers, 'x-zendesk-webhook-signature-timestamp') ?? '',
    });
    expect(parsed).toMatchObject({
      kind: 'events',
      events: [{ source: 'zendesk', objectId: String(org.id), refs: { zendeskOrganizationId: String(org.id) } }],
    });
    expect(z.webhookDeliveries).toMatchObject([
      { type: 'zen:event-type:organization.custom_field_changed', status: 200 },
    ]);
  });

  it('writing the same values again changes nothing, so nothing is echoed; seeding never echoes', async () => {
    const hook = await receiver();
    const z = await standIn({ webhook: { url: hook.url, secret: 'zd-webhook-secret' } });
    const org = z.seedOrganization({ name: 'Acme', organization_fields: { portal_plan: 'pro' } });
    const before = z.state.organizations.get(org.id)?.updated_at;

    await sdk(z).organizations.update(org.id, { organization: { organization_fields: { portal_plan: 'pro' } } });
    await z.flushWebhooks();

    expect(hook.received).toHaveLength(0);
    expect(z.state.organizations.get(org.id)?.updated_at).toBe(before);
  });

  it('echoes user writes (user.custom_field_changed) and creations (user.created), in order, after the API answered', async () => {
    const hook = await receiver();
    const z = await standIn({ webhook: { url: hook.url, secret: 'zd-webhook-secret' } });
    const org = z.seedOrganization({ name: 'Acme' });
    z.seedField('user', { key: 'portal_role', type: 'text' });
    const dana = z.seedUser({ name: 'Dana', email: 'dana@acme.example', organization_id: org.id });
    const client = sdk(z);

    await client.users.update(dana.id, { user: { user_fields: { portal_role: 'owner' } } });
    await client.users.createOrUpdate({ user: { name: 'Sam', email: 'sam@acme.example' } });
    await z.flushWebhooks();

    const bodies = hook.received.map(
      (r) =>
        JSON.parse(r.body.toString('utf8')) as {
          type: string;
          detail: Record<string, unknown>;
          event: Record<string, unknown>;
        },
    );
    expect(bodies.map((b) => b.type)).toEqual([
      'zen:event-type:user.custom_field_changed',
      'zen:event-type:user.created',
    ]);
    expect(bodies[0]).toMatchObject({
      detail: { id: String(dana.id), email: 'dana@acme.example', organization_id: String(org.id) },
      event: { current: 'owner', previous: null },
    });
    expect(parseZendeskWebhook(bodies[0], {})).toMatchObject({
      kind: 'events',
      events: [{ refs: { zendeskUserId: String(dana.id), email: 'dana@acme.example' } }],
    });
  });

  it('sends only the subscribed event types', async () => {
    const hook = await receiver();
    const z = await standIn({ webhook: { url: hook.url, secret: 's', subscriptions: ['organization.name_changed'] } });
    const org = z.seedOrganization({ name: 'Acme' });

    await sdk(z).organizations.update(org.id, {
      organization: { name: 'Acme Inc', organization_fields: { portal_plan: 'pro' } },
    });
    await z.flushWebhooks();

    expect(
      hook.received.map((r) => JSON.parse(r.body.toString('utf8')) as { type: string; event: unknown }),
    ).toMatchObject([
      { type: 'zen:event-type:organization.name_changed', event: { current: 'Acme Inc', previous: 'Acme' } },
    ]);
  });
});
