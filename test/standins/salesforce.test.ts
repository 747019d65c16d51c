import { Connection } from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { classifySalesforceError, createSalesforceConnection } from '../../src/connectors/salesforce/client.js';
import { OUTBOUND_ACK_XML, parseOutboundMessage } from '../../src/connectors/salesforce/outbound.js';
import { listenOnLoopback } from '../../src/demo/standins/common.js';
import { startSalesforceStandIn, toId18 } from '../../src/demo/standins/salesforce/index.js';
import type {
  SalesforceFieldSpec,
  SalesforceStandIn,
  SalesforceStandInOptions,
} from '../../src/demo/standins/salesforce/index.js';

const PORTAL_FIELDS: Record<string, Array<string | SalesforceFieldSpec>> = {
  Account: [
    'Billing_Status__c',
    'Billing_Plan__c',
    { name: 'Billing_MRR__c', type: 'currency' },
    { name: 'Billing_Delinquent__c', type: 'boolean' },
    { name: 'Stripe_Customer_Id__c', externalId: true },
  ],
  Portal_Invoice__c: [
    { name: 'Stripe_Invoice_Id__c', externalId: true },
    { name: 'Account__c', type: 'reference', referenceTo: ['Account'] },
    'Status__c',
    { name: 'Total__c', type: 'currency' },
  ],
};

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function standIn(opts: SalesforceStandInOptions = {}): Promise<SalesforceStandIn> {
  const sf = await startSalesforceStandIn({ fields: PORTAL_FIELDS, ...opts });
  open.push(sf);
  return sf;
}

/** The way a test holding a token talks to Salesforce (no renewal). */
function connect(sf: SalesforceStandIn, extra: Record<string, unknown> = {}): Connection {
  return new Connection({ instanceUrl: sf.instanceUrl, accessToken: sf.accessToken, version: '62.0', ...extra });
}

const invoices = (n: number, accountId: string) =>
  Array.from({ length: n }, (_, i) => ({
    Stripe_Invoice_Id__c: `in_${String(i).padStart(4, '0')}`,
    Account__c: accountId,
    Status__c: 'open',
    Total__c: 1000 + i,
  }));

const dataCalls = (sf: SalesforceStandIn, method: string, pathEnd: string) =>
  sf.calls.filter((c) => c.method === method && c.path.endsWith(pathEnd));

describe('logging in', () => {
  it('issues a token to the client credentials flow, and API calls with it see the org', async () => {
    const sf = await standIn();
    const account = sf.state.seedAccount({ Name: 'Acme Logistics' });

    const conn = await createSalesforceConnection(
      { loginUrl: sf.loginUrl, clientId: sf.clientId, clientSecret: sf.clientSecret },
      '62.0',
    );

    expect(conn.instanceUrl).toBe(sf.instanceUrl);
    expect(conn.userInfo?.organizationId).toBe(sf.orgId);
    await expect(conn.sobject('Account').retrieve(account.Id)).resolves.toMatchObject({
      attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${account.Id}` },
      Id: account.Id,
      Name: 'Acme Logistics',
      Billing_Status__c: null,
    });
    expect(sf.calls[0]).toMatchObject({
      method: 'POST',
      path: '/services/oauth2/token',
      status: 200,
      body: { grant_type: 'client_credentials', client_id: sf.clientId },
    });
  });

  it("refuses a wrong secret the way Salesforce's token endpoint does, and that is not worth a retry", async () => {
    const sf = await standIn();

    const attempt = createSalesforceConnection(
      { loginUrl: sf.loginUrl, clientId: sf.clientId, clientSecret: 'wrong' },
      '62.0',
    );

    const err = await attempt.catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'invalid_client', message: 'invalid client credentials' });
    expect(classifySalesforceError(err).retryable).toBe(false);
  });

  it('answers 401 INVALID_SESSION_ID to a bad token, and the client renews an expired one and repeats the call', async () => {
    const sf = await standIn();
    const account = sf.state.seedAccount();
    const stranger = new Connection({ instanceUrl: sf.instanceUrl, accessToken: '00D!not-a-session', version: '62.0' });
    await expect(stranger.sobject('Account').retrieve(account.Id)).rejects.toMatchObject({
      errorCode: 'INVALID_SESSION_ID',
      message: 'Session expired or invalid',
    });

    const conn = await createSalesforceConnection(
      { loginUrl: sf.loginUrl, clientId: sf.clientId, clientSecret: sf.clientSecret },
      '62.0',
    );
    sf.expireTokens();
    await expect(conn.sobject('Account').retrieve(account.Id)).resolves.toMatchObject({ Id: account.Id });

    expect(dataCalls(sf, 'GET', `/Account/${account.Id}`).map((c) => c.status)).toEqual([401, 401, 200]);
    expect(dataCalls(sf, 'POST', '/services/oauth2/token')).toHaveLength(2);
  });
});

describe('writing', () => {
  it('upserts 250 invoices as two sObject Collections calls of 200 and 50; a replay creates nothing', async () => {
    const sf = await standIn();
    const account = sf.state.seedAccount();
    const conn = connect(sf);

    const first = await conn
      .sobject('Portal_Invoice__c')
      .upsert(invoices(250, account.Id), 'Stripe_Invoice_Id__c', { allowRecursive: true });

    const path = '/services/data/v62.0/composite/sobjects/Portal_Invoice__c/Stripe_Invoice_Id__c';
    expect(dataCalls(sf, 'PATCH', path).map((c) => [c.status, c.records])).toEqual([
      [200, 200],
      [200, 50],
    ]);
    expect(first).toHaveLength(250);
    expect(first.every((r) => r.success && r.created === true)).toBe(true);
    expect(sf.state.count('Portal_Invoice__c')).toBe(250);
    const stored = sf.state.byExternalId('Portal_Invoice__c', 'Stripe_Invoice_Id__c', 'in_0042');
    expect(stored).toMatchObject({ Id: first[42]!.id, Account__c: account.Id, Total__c: 1042, Name: first[42]!.id });
    expect(stored?.Id).toMatch(/^a0B[A-Za-z0-9]{15}$/);

    const replay = await conn
      .sobject('Portal_Invoice__c')
      .upsert(invoices(250, account.Id), 'Stripe_Invoice_Id__c', { allowRecursive: true });

    expect(replay.map((r) => r.id)).toEqual(first.map((r) => r.id));
    expect(replay.every((r) => r.success && r.created === false)).toBe(true);
    expect(sf.state.count('Portal_Invoice__c')).toBe(250);
  });

  it('refuses more than 200 records in one collections call, as jsforce sends them without allowRecursive', async () => {
    const sf = await standIn();
    const account = sf.state.seedAccount();

    const attempt = connect(sf).sobject('Portal_Invoice__c').upsert(invoices(201, account.Id), 'Stripe_Invoice_Id__c');

    await expect(attempt).rejects.toMatchObject({
      errorCode: 'EXCEEDED_ID_LIMIT',
      message: 'record limit reached. cannot submit more than 200 records into this call',
    });
    expect(sf.state.count('Portal_Invoice__c')).toBe(0);
  });

  it('upserts one record by external id: 201 created, then 200 updated', async () => {
    const sf = await standIn();
    const conn = connect(sf);

    const created = await conn
      .sobject('Account')
      .upsert({ Stripe_Customer_Id__c: 'cus_Q8xLm2', Name: 'Acme' }, 'Stripe_Customer_Id__c');
    const updated = await conn
      .sobject('Account')
      .upsert({ Stripe_Customer_Id__c: 'cus_Q8xLm2', Billing_Status__c: 'active' }, 'Stripe_Customer_Id__c');

    expect(created).toMatchObject({ success: true, errors: [], created: true });
    expect(updated).toEqual({ id: created.id, success: true, errors: [], created: false });
    expect(dataCalls(sf, 'PATCH', '/sobjects/Account/Stripe_Customer_Id__c/cus_Q8xLm2').map((c) => c.status)).toEqual([
      201, 200,
    ]);
    expect(sf.state.get('Account', created.id!)).toMatchObject({ Name: 'Acme', Billing_Status__c: 'active' });
  });

  it('matches external ids ignoring case only on unique, case-insensitive fields, as Salesforce does', async () => {
    const sf = await standIn({
      fields: { ...PORTAL_FIELDS, Contact: [{ name: 'Zendesk_User_Id__c', externalId: true, caseSensitive: true }] },
    });
    const conn = connect(sf);
    const acme = sf.state.seedAccount({ Stripe_Customer_Id__c: 'cus_abc' });
    const ann = sf.state.seedContact({ Zendesk_User_Id__c: 'zd_abc' });

    const account = await conn
      .sobject('Account')
      .upsert({ Stripe_Customer_Id__c: 'CUS_ABC', Billing_Plan__c: 'pro' }, 'Stripe_Customer_Id__c');
    const contact = await conn
      .sobject('Contact')
      .upsert({ Zendesk_User_Id__c: 'ZD_ABC', LastName: 'Other' }, 'Zendesk_User_Id__c');

    expect(account).toMatchObject({ id: acme.Id, created: false });
    expect(contact.created).toBe(true);
    expect(contact.id).not.toBe(ann.Id);
  });

  it('updates Account fields: 204, SystemModstamp moves to the second of the write, our client id is on the call', async () => {
    let now = Date.parse('2024-11-05T10:00:00.250Z');
    const sf = await standIn({ now: () => now });
    const account = sf.state.seedAccount({ Name: 'Acme' });
    expect(account['SystemModstamp']).toBe('2024-11-05T10:00:00.000+0000');
    now += 1_500;

    const result = await connect(sf, { callOptions: { client: 'portal-sync' } })
      .sobject('Account')
      .update({ Id: account.Id, Billing_Status__c: 'past_due', Billing_MRR__c: 99, Billing_Delinquent__c: true });

    expect(result).toEqual({ id: account.Id, success: true, errors: [] });
    expect(sf.calls.at(-1)).toMatchObject({ method: 'PATCH', status: 204, callOptions: 'client=portal-sync' });
    expect(sf.state.get('Account', account.Id)).toMatchObject({
      Name: 'Acme',
      Billing_Status__c: 'past_due',
      Billing_MRR__c: 99,
      Billing_Delinquent__c: true,
      SystemModstamp: '2024-11-05T10:00:01.000+0000',
      LastModifiedDate: '2024-11-05T10:00:01.000+0000',
    });
  });

  it('an unknown field fails the call with INVALID_FIELD through jsforce, until the field is defined', async () => {
    const sf = await standIn();
    const account = sf.state.seedAccount({ Name: 'Acme' });
    const conn = connect(sf);

    const err = await conn
      .sobject('Account')
      .update({ Id: account.Id, Open_Support_Tickets__c: 3 })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({
      errorCode: 'INVALID_FIELD',
      message: "No such column 'Open_Support_Tickets__c' on sobject of type Account",
    });
    expect(classifySalesforceError(err).retryable).toBe(false);
    expect(sf.calls.at(-1)?.status).toBe(400);
    expect(sf.state.get('Account', account.Id)?.['SystemModstamp']).toBe(account['SystemModstamp']);

    sf.state.defineField('Account', { name: 'Open_Support_Tickets__c', type: 'double' });
    await expect(conn.sobject('Account').update({ Id: account.Id, Open_Support_Tickets__c: 3 })).resolves.toMatchObject(
      { success: true },
    );
    expect(sf.state.get('Account', account.Id)?.['Open_Support_Tickets__c']).toBe(3);
  });

  it('reports per-record errors in a collection, and rolls every record back under allOrNone', async () => {
    const sf = await standIn();
    const accounts = connect(sf).sobject('Account');

    const partial = await accounts.upsert(
      [{ Stripe_Customer_Id__c: 'cus_a', Name: 'A' }, { Stripe_Customer_Id__c: 'cus_b' }],
      'Stripe_Customer_Id__c',
    );
    const allOrNone = await accounts.upsert(
      [{ Stripe_Customer_Id__c: 'cus_c', Name: 'C' }, { Stripe_Customer_Id__c: 'cus_d' }],
      'Stripe_Customer_Id__c',
      { allOrNone: true },
    );
    const duplicated = await accounts.upsert(
      [
        { Stripe_Customer_Id__c: 'cus_e', Name: 'E' },
        { Stripe_Customer_Id__c: 'CUS_E', Name: 'E2' },
      ],
      'Stripe_Customer_Id__c',
    );

    const missingName = {
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [Name]',
      fields: ['Name'],
    };
    expect(partial).toEqual([
      { id: expect.stringMatching(/^001/), success: true, errors: [], created: true },
      { success: false, errors: [missingName] },
    ]);
    expect(allOrNone).toEqual([
      {
        success: false,
        errors: [
          {
            statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
            message: expect.stringContaining('Record rolled back'),
            fields: [],
          },
        ],
      },
      { success: false, errors: [missingName] },
    ]);
    expect(duplicated.map((r) => r.errors[0])).toEqual([
      expect.objectContaining({
        statusCode: 'DUPLICATE_EXTERNAL_ID',
        message: 'Duplicate external id specified: cus_e',
      }),
      expect.objectContaining({
        statusCode: 'DUPLICATE_EXTERNAL_ID',
        message: 'Duplicate external id specified: CUS_E',
      }),
    ]);
    expect([...sf.state.sobjects.get('Account')!.values()].map((a) => a['Stripe_Customer_Id__c'])).toEqual(['cus_a']);
  });

  it('creates and updates through sObject Collections by Id, answering in request order', async () => {
    const sf = await standIn();
    const conn = connect(sf);

    const created = await conn.sobject('Account').create([{ Name: 'One' }, { Name: 'Two' }, { Name: 'x'.repeat(256) }]);
    const [one, two] = created;
    const updated = await conn.sobject('Account').update([
      { Id: two!.id!, Billing_Plan__c: 'team' },
      { Id: '001000000000000AAA', Billing_Plan__c: 'team' },
      { Id: one!.id!, Billing_Plan__c: 'pro' },
    ]);

    expect(created[2]).toEqual({
      success: false,
      errors: [
        {
          statusCode: 'STRING_TOO_LONG',
          message: expect.stringContaining('Account Name: data value too large'),
          fields: ['Name'],
        },
      ],
    });
    expect(updated.map((r) => r.success)).toEqual([true, false, true]);
    expect(updated[1]?.errors[0]).toMatchObject({ statusCode: 'INVALID_CROSS_REFERENCE_KEY' });
    expect(sf.state.get('Account', one!.id!)?.['Billing_Plan__c']).toBe('pro');
    expect(dataCalls(sf, 'POST', '/composite/sobjects')).toHaveLength(1);
    expect(dataCalls(sf, 'PATCH', '/composite/sobjects')).toHaveLength(1);
  });

  it('deletes by sObject Collections: one DeleteResult per id in order, ENTITY_IS_DELETED the second time, and allOrNone restores all', async () => {
    const sf = await standIn();
    const conn = connect(sf);
    const account = sf.state.seedAccount({ Name: 'Acme' });
    const written = await conn.sobject('Portal_Invoice__c').upsert(invoices(3, account.Id), 'Stripe_Invoice_Id__c');
    const [a, b, c] = written.map((r) => r.id!);

    const first = await conn
      .sobject('Portal_Invoice__c')
      .destroy([a!, b!, 'not-an-id', 'a00000000000000AAA'], { allOrNone: false });
    const again = await conn.sobject('Portal_Invoice__c').destroy([a!], { allOrNone: false });
    const rolledBack = await conn.sobject('Portal_Invoice__c').destroy([c!, b!], { allOrNone: true });

    expect(first).toEqual([
      { id: a, success: true, errors: [] },
      { id: b, success: true, errors: [] },
      { success: false, errors: [{ statusCode: 'MALFORMED_ID', message: 'malformed id not-an-id', fields: [] }] },
      {
        success: false,
        errors: [{ statusCode: 'INVALID_CROSS_REFERENCE_KEY', message: 'invalid cross reference id', fields: [] }],
      },
    ]);
    expect(again).toEqual([
      { success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] },
    ]);
    expect(rolledBack.map((r) => (r.errors[0] as { statusCode?: string } | undefined)?.statusCode)).toEqual([
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'ENTITY_IS_DELETED',
    ]);
    expect(sf.state.get('Portal_Invoice__c', c!)).toBeDefined();
    expect(sf.state.count('Portal_Invoice__c')).toBe(1);
    expect(dataCalls(sf, 'DELETE', '/composite/sobjects')).toHaveLength(3);
    expect(
      await fetch(`${sf.instanceUrl}/services/data/v62.0/composite/sobjects?ids=${Array(201).fill(c).join(',')}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${sf.accessToken}` },
      }).then(async (r) => [r.status, await r.json()]),
    ).toEqual([
      400,
      [
        {
          message: 'record limit reached. cannot submit more than 200 records into this call',
          errorCode: 'EXCEEDED_ID_LIMIT',
        },
      ],
    ]);
  });

  it('describes objects and their fields, so `setup salesforce --verify` can check them', async () => {
    const sf = await standIn();

    const describe = await connect(sf).sobject('Portal_Invoice__c').describe();

    expect(describe).toMatchObject({ name: 'Portal_Invoice__c', keyPrefix: 'a0B', custom: true });
    const byName = new Map(describe.fields.map((f) => [f.name, f]));
    expect(byName.get('Stripe_Invoice_Id__c')).toMatchObject({
      type: 'string',
      externalId: true,
      unique: true,
      idLookup: true,
      caseSensitive: false,
    });
    expect(byName.get('Account__c')).toMatchObject({
      type: 'reference',
      referenceTo: ['Account'],
      relationshipName: 'Account__r',
    });
    expect(byName.get('SystemModstamp')).toMatchObject({ type: 'datetime', createable: false, updateable: false });
  });
});

describe('reading', () => {
  it('pages a query with nextRecordsUrl at the requested batch size; queryMore and autoFetch read every page', async () => {
    const sf = await standIn();
    const start = Date.parse('2024-03-01T00:00:00Z');
    for (let i = 0; i < 10; i++) sf.state.seedAccount({ SystemModstamp: '2023-12-31T00:00:00Z' });
    for (let i = 449; i >= 0; i--)
      sf.state.seedAccount({ Name: `Customer ${i}`, SystemModstamp: new Date(start + i * 1000).toISOString() });
    const conn = connect(sf);
    const soql =
      'SELECT Id, Name, SystemModstamp FROM Account WHERE SystemModstamp > 2024-02-01T00:00:00Z ORDER BY SystemModstamp';
    const headers = { 'Sforce-Query-Options': 'batchSize=200' };

    // The raw first page (jsforce rewrites nextRecordsUrl into an absolute URL of its own).
    const first = await conn.request<{
      totalSize: number;
      done: boolean;
      nextRecordsUrl?: string;
      records: Record<string, unknown>[];
    }>({
      method: 'GET',
      url: `/query?q=${encodeURIComponent(soql)}`,
      headers,
    });
    // The cursor keeps its batch size: queryMore needs no header.
    const second = await conn.queryMore(first.nextRecordsUrl!);
    const third = await conn.queryMore(second.nextRecordsUrl!);

    expect(first).toMatchObject({ totalSize: 450, done: false });
    expect(Object.keys(first)).toEqual(['totalSize', 'done', 'nextRecordsUrl', 'records']);
    expect(first.nextRecordsUrl).toMatch(/^\/services\/data\/v62\.0\/query\/01g[A-Za-z0-9]{15}-200$/);
    expect(first.records).toHaveLength(200);
    expect(Object.keys(first.records[0]!)).toEqual(['attributes', 'Id', 'Name', 'SystemModstamp']);
    expect(first.records[0]).toMatchObject({
      attributes: { type: 'Account' },
      Name: 'Customer 0',
      SystemModstamp: '2024-03-01T00:00:00.000+0000',
    });
    expect(second.nextRecordsUrl).toMatch(/-400$/);
    expect(third).toMatchObject({ done: true, records: expect.any(Array) });
    expect(third.records.at(-1)).toMatchObject({ Name: 'Customer 449' });
    expect(third.nextRecordsUrl).toBeUndefined();

    const queriesBefore = sf.calls.length;
    const all = await conn.query(soql, { headers, autoFetch: true, maxFetch: 10_000 });
    expect(all.records.map((r) => r['Name'])).toEqual(Array.from({ length: 450 }, (_, i) => `Customer ${i}`));
    expect(sf.calls.length - queriesBefore).toBe(3);
  });

  it('answers SOQL mistakes as Salesforce does, pointing at the row and column', async () => {
    const sf = await standIn();
    const conn = connect(sf);

    const quoted = conn.query("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'");
    const unknownColumn = conn.query('SELECT Id, Billing_Status FROM Account');
    const unknownObject = conn.query('SELECT Id FROM Invoice__c');

    await expect(quoted).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
      message: expect.stringMatching(
        /ERROR at Row:1:Column:47\nvalue of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes$/,
      ),
    });
    await expect(unknownColumn).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
      message: expect.stringContaining("No such column 'Billing_Status' on entity 'Account'"),
    });
    await expect(unknownObject).rejects.toMatchObject({
      errorCode: 'INVALID_TYPE',
      message: expect.stringContaining("sObject type 'Invoice__c' is not supported"),
    });
  });

  it('filters and follows one-level relationships, and counts with COUNT()', async () => {
    const sf = await standIn();
    const acme = sf.state.seedAccount({ Name: 'Acme' });
    const other = sf.state.seedAccount({ Name: 'Other' });
    sf.state.seedContact({ LastName: 'Lee', FirstName: 'Ann', Email: 'ann@acme.example', AccountId: acme.Id });
    sf.state.seedContact({ LastName: 'Kim', AccountId: other.Id });
    sf.state.seedContact({ LastName: 'Solo' });
    const conn = connect(sf);

    const mine = await conn.query(
      "SELECT Name, Email, Account.Name FROM Contact WHERE Account.Name = 'ACME' OR (AccountId = null AND LastName LIKE 'so%')",
    );
    const count = await conn.query(
      `SELECT COUNT() FROM Contact WHERE AccountId IN ('${acme.Id.slice(0, 15)}', '${other.Id}')`,
    );

    expect(mine.records.map((r) => [r['Name'], r['Account']])).toEqual([
      [
        'Ann Lee',
        { attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${acme.Id}` }, Name: 'Acme' },
      ],
      ['Solo', null],
    ]);
    expect(count).toMatchObject({ totalSize: 2, done: true, records: [] });
  });
});

describe('limits and faults', () => {
  it('reports usage in Sforce-Limit-Info and answers 403 REQUEST_LIMIT_EXCEEDED past the rate', async () => {
    const sf = await standIn({ rate: { max: 3, perMs: 60_000 } });
    const account = sf.state.seedAccount();
    const conn = connect(sf);

    await conn.sobject('Account').retrieve(account.Id);
    await conn.sobject('Account').retrieve(account.Id);
    const limits = await conn.limits();
    const err = await conn
      .sobject('Account')
      .retrieve(account.Id)
      .catch((e: unknown) => e);

    expect(limits.DailyApiRequests).toEqual({ Max: 100_000, Remaining: 99_997 });
    expect(conn.limitInfo.apiUsage).toEqual({ used: 3, limit: 100_000 });
    expect(err).toMatchObject({ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' });
    expect(classifySalesforceError(err).retryable).toBe(true);
    expect(sf.calls.at(-1)?.status).toBe(403);
  });

  it('injects the same faults for the same seed, and a faulted write changes nothing', async () => {
    const run = async (seed: number) => {
      const sf = await standIn({ faults: { rate: 0.4, kinds: ['500', '503'], seed } });
      const account = sf.state.seedAccount();
      const conn = connect(sf);
      const outcomes: string[] = [];
      for (let i = 0; i < 20; i++) {
        // PATCH: jsforce retries none of these itself, so each outcome is the stand-in's answer.
        const outcome = await conn
          .sobject('Account')
          .update({ Id: account.Id, Billing_Plan__c: `plan-${i}` })
          .then(
            () => 'ok',
            (e: { errorCode?: string }) => e.errorCode ?? 'error',
          );
        outcomes.push(outcome);
      }
      const lastOk = outcomes.lastIndexOf('ok');
      expect(sf.state.get('Account', account.Id)?.['Billing_Plan__c']).toBe(lastOk >= 0 ? `plan-${lastOk}` : null);
      return outcomes;
    };

    const a = await run(7);
    const b = await run(7);
    const c = await run(8);

    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(new Set(a)).toEqual(new Set(['ok', 'UNKNOWN_EXCEPTION', 'SERVER_UNAVAILABLE']));
  });

  it('drops the connection on a reset and never answers on a timeout', async () => {
    const sf = await standIn();
    const account = sf.state.seedAccount();
    const conn = connect(sf);
    sf.failNext(1, 'reset');
    sf.failNext(1, 'timeout');

    const reset = await conn
      .sobject('Account')
      .update({ Id: account.Id, Billing_Plan__c: 'pro' })
      .catch((e: unknown) => e);
    const hung = fetch(`${sf.instanceUrl}/services/data/v62.0/sobjects/Account/${account.Id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${sf.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ Billing_Plan__c: 'pro' }),
      signal: AbortSignal.timeout(300),
    });

    expect(classifySalesforceError(reset).retryable).toBe(true);
    await expect(hung).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sf.calls.map((c) => [c.status, c.fault])).toEqual([
      [0, 'failNext'],
      [0, 'failNext'],
    ]);
    expect(sf.state.get('Account', account.Id)?.['Billing_Plan__c']).toBeNull();
  });

  it('fails only matching calls with failNext; jsforce retries a GET on 503 by itself, so the stand-in sees both', async () => {
    const sf = await standIn();
    const account = sf.state.seedAccount();
    const conn = connect(sf);
    sf.failNext(1, 503, undefined, /^GET /);
    sf.failNext(1, 500, undefined, /composite/);

    await expect(conn.sobject('Account').update({ Id: account.Id, Billing_Plan__c: 'pro' })).resolves.toMatchObject({
      success: true,
    });
    await expect(conn.sobject('Account').retrieve(account.Id)).resolves.toMatchObject({ Billing_Plan__c: 'pro' });
    const err = await conn
      .sobject('Account')
      .update([{ Id: account.Id, Billing_Plan__c: 'team' }])
      .catch((e: unknown) => e);

    expect(dataCalls(sf, 'GET', account.Id).map((c) => c.status)).toEqual([503, 200]);
    expect(err).toMatchObject({
      errorCode: 'UNKNOWN_EXCEPTION',
      message: expect.stringContaining('An unexpected error occurred'),
    });
  });
});

describe('the Outbound Message echo', () => {
  async function receiver() {
    const bodies: string[] = [];
    const server = await listenOnLoopback((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(OUTBOUND_ACK_XML);
      });
    });
    open.push(server);
    return { url: `${server.origin}/webhooks/salesforce`, bodies };
  }

  it('sends, after each Account write, the message Salesforce would send, and our parser reads it', async () => {
    const target = await receiver();
    const sf = await standIn({
      now: () => Date.parse('2024-11-05T10:00:07.900Z'),
      outbound: { url: target.url, orgId: '00D8d000004PqRsEAK' },
    });
    const account = sf.state.seedAccount({ Name: 'Acme & Co', Stripe_Customer_Id__c: 'cus_1' });

    await connect(sf).sobject('Account').update({ Id: account.Id, Billing_Status__c: 'past_due', Billing_MRR__c: 250 });
    await sf.flushOutbound();

    expect(sf.outbound).toHaveLength(1);
    expect(sf.outbound[0]).toMatchObject({ status: 200, response: OUTBOUND_ACK_XML, recordIds: [account.Id] });
    const parsed = parseOutboundMessage(target.bodies[0]!);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.organizationId).toBe('00D8d000004PqRsEAK');
    const [notification] = parsed.notifications;
    expect(notification?.notificationId).toMatch(/^04l[A-Za-z0-9]{15}$/);
    if (notification?.result.kind !== 'events')
      throw new Error(`not parsed as an event: ${JSON.stringify(notification?.result)}`);
    expect(notification.result.events[0]).toMatchObject({
      objectId: account.Id,
      version: Date.parse('2024-11-05T10:00:07Z'),
      data: {
        kind: 'salesforce.account',
        fields: {
          Name: 'Acme & Co',
          Billing_Status__c: 'past_due',
          Billing_MRR__c: '250.0',
          Billing_Delinquent__c: 'false',
        },
      },
    });
  });

  it('batches up to 100 notifications per message, skips failed writes and other objects, and echoes edits made in Salesforce', async () => {
    const target = await receiver();
    const sf = await standIn({ outbound: { url: target.url, orgId: '00D8d000004PqRs' } });
    const conn = connect(sf);
    const acme = sf.state.seedAccount();

    await conn.sobject('Account').upsert(
      Array.from({ length: 150 }, (_, i) => ({ Stripe_Customer_Id__c: `cus_${i}`, Name: `Customer ${i}` })),
      'Stripe_Customer_Id__c',
    );
    await conn
      .sobject('Account')
      .update({ Id: acme.Id, Name: '' })
      .catch(() => undefined);
    await conn.sobject('Portal_Invoice__c').upsert(invoices(3, acme.Id), 'Stripe_Invoice_Id__c');
    sf.edit('Account', acme.Id, { Billing_Status__c: 'canceled' });
    await sf.flushOutbound();

    expect(sf.orgId).toBe('00D8d000004PqRsEAK');
    expect(sf.outbound.map((d) => d.notificationIds.length)).toEqual([100, 50, 1]);
    expect(sf.outbound[2]?.recordIds).toEqual([acme.Id]);
    expect(target.bodies).toHaveLength(3);
    expect(target.bodies.every((xml) => parseOutboundMessage(xml).ok)).toBe(true);
  });
});

describe('ids', () => {
  it("generates 18-character ids with Salesforce's key prefixes and case-safe suffix", async () => {
    const sf = await standIn();

    const account = sf.state.seedAccount();
    const contact = sf.state.seedContact({ AccountId: account.Id.slice(0, 15) });

    expect(toId18('0018d00000QxZ7p')).toBe('0018d00000QxZ7pAAF');
    expect(toId18('00D8d000004PqRs')).toBe('00D8d000004PqRsEAK');
    expect(account.Id).toMatch(/^001[A-Za-z0-9]{15}$/);
    expect(toId18(account.Id.slice(0, 15))).toBe(account.Id);
    expect(contact.Id).toMatch(/^003/);
    expect(contact['AccountId']).toBe(account.Id);
    expect(sf.state.get('Account', account.Id.slice(0, 15))).toBe(account);
  });
});
