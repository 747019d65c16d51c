import { readFileSync } from 'node:fs';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { classifySalesforceError, createSalesforceConnection } from '../../../src/connectors/salesforce/client.js';
import { fetchSalesforceObject } from '../../../src/connectors/salesforce/fetch.js';
import { parseOutboundMessage } from '../../../src/connectors/salesforce/outbound.js';
import { useStrictNock } from '../../support/nock.js';

const INSTANCE = 'https://acme-logistics.my.salesforce.com';
const TOKEN = '00D8d000004PqRs!AQ0AQTestAccessToken';
const ACCOUNT_ID = '0018d00000QxZ7pAAF';
const CONTACT_ID = '0038d00000RkT2vAAF';
const VERSION = Date.parse('2024-12-02T09:25:34.000Z');
const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json;charset=UTF-8', 'sforce-limit-info': 'api-usage=10018/100000' };

/** GET /sobjects/Account/:id as the REST API answers it: the account of fixtures/salesforce/account-outbound.xml. */
const ACCOUNT = {
  attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${ACCOUNT_ID}` },
  Id: ACCOUNT_ID,
  IsDeleted: false,
  MasterRecordId: null,
  Name: 'Acme Logistics & Freight B.V.',
  Type: 'Customer - Direct',
  ParentId: null,
  BillingStreet: null,
  BillingCity: 'Rotterdam',
  BillingState: null,
  BillingPostalCode: null,
  BillingCountry: 'Netherlands',
  BillingLatitude: null,
  BillingLongitude: null,
  BillingGeocodeAccuracy: null,
  BillingAddress: {
    city: 'Rotterdam',
    country: 'Netherlands',
    geocodeAccuracy: null,
    latitude: null,
    longitude: null,
    postalCode: null,
    state: null,
    street: null,
  },
  AccountNumber: 'CUST-004817',
  AnnualRevenue: 2500000,
  NumberOfEmployees: 250,
  OwnerId: '0058d000003Hn1KAAS',
  CreatedDate: '2023-03-14T08:02:11.000+0000',
  CreatedById: '0058d000003Hn1KAAS',
  LastModifiedDate: '2024-12-02T09:25:33.000+0000',
  LastModifiedById: '0058d000003Hn1KAAS',
  SystemModstamp: '2024-12-02T09:25:34.000+0000',
  Customer_Tier__c: 'Gold',
  Stripe_Customer_Id__c: 'cus_Q8xLm2VbN4rT7a',
};
const CONTACT = {
  attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${CONTACT_ID}` },
  Id: CONTACT_ID,
  IsDeleted: false,
  AccountId: ACCOUNT_ID,
  LastName: 'de Vries',
  FirstName: 'Sanne',
  Name: 'Sanne de Vries',
  Email: 'Sanne.deVries@Acme-Logistics.example',
  MailingAddress: null,
  HasOptedOutOfEmail: false,
  SystemModstamp: '2024-12-02T09:25:34.000+0000',
  LastModifiedDate: '2024-12-02T09:25:33.000+0000',
};

const connection = () =>
  createSalesforceConnection(
    { loginUrl: 'https://login.salesforce.com', instanceUrl: INSTANCE, accessToken: TOKEN },
    '62.0',
  );

useStrictNock();

describe('refetching Salesforce records to settle a tie', () => {
  it('an account is read from GET /services/data/v62.0/sobjects/Account/:id and reads like its Outbound Message', async () => {
    nock(INSTANCE, { reqheaders: auth })
      .get(`/services/data/v62.0/sobjects/Account/${ACCOUNT_ID}`)
      .reply(200, ACCOUNT, json);

    const event = await fetchSalesforceObject(await connection(), 'salesforce.account', ACCOUNT_ID, VERSION);

    expect(event).toMatchObject({
      v: 1,
      source: 'salesforce',
      eventId: `refetch-${ACCOUNT_ID}-${VERSION}`,
      type: 'refetch:salesforce.account',
      objectId: ACCOUNT_ID,
      version: VERSION,
      origin: 'snapshot',
      deleted: false,
      refs: { salesforceAccountId: ACCOUNT_ID },
    });
    if (event.data.kind !== 'salesforce.account') throw new Error(event.data.kind);
    // Every field the Outbound Message carried has the same text here, but for the double, which
    // SOAP renders as 2500000.0 and JSON as 2500000.
    const outbound = parseOutboundMessage(
      readFileSync(new URL('../../fixtures/salesforce/account-outbound.xml', import.meta.url), 'utf8'),
    );
    if (!outbound.ok || outbound.notifications[0]?.result.kind !== 'events') throw new Error('fixture did not parse');
    const sent = outbound.notifications[0].result.events[0]!.data;
    if (sent.kind !== 'salesforce.account') throw new Error(sent.kind);
    const { AnnualRevenue, ...sameText } = sent.fields;
    expect(event.data.fields).toMatchObject(sameText);
    expect(AnnualRevenue).toBe('2500000.0');
    expect(event.data.fields).toMatchObject({
      AnnualRevenue: '2500000',
      NumberOfEmployees: '250',
      BillingStreet: null,
    });
    // Compound fields and the REST `attributes` are not fields of the record.
    expect(event.data.fields).not.toHaveProperty('BillingAddress');
    expect(event.data.fields).not.toHaveProperty('attributes');
  });

  it('a contact comes back with its account, normalized email and name', async () => {
    nock(INSTANCE, { reqheaders: auth })
      .get(`/services/data/v62.0/sobjects/Contact/${CONTACT_ID}`)
      .reply(200, CONTACT, json);

    const event = await fetchSalesforceObject(await connection(), 'salesforce.contact', CONTACT_ID, VERSION);

    expect(event).toMatchObject({
      objectId: CONTACT_ID,
      refs: {
        salesforceContactId: CONTACT_ID,
        salesforceAccountId: ACCOUNT_ID,
        email: 'sanne.devries@acme-logistics.example',
      },
      data: {
        kind: 'salesforce.contact',
        accountId: ACCOUNT_ID,
        email: 'sanne.devries@acme-logistics.example',
        name: 'Sanne de Vries',
      },
    });
  });

  it('REQUEST_LIMIT_EXCEEDED (403) is retryable', async () => {
    nock(INSTANCE)
      .get(`/services/data/v62.0/sobjects/Account/${ACCOUNT_ID}`)
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], json);

    const err = await fetchSalesforceObject(await connection(), 'salesforce.account', ACCOUNT_ID, VERSION).catch(
      (e: unknown) => e,
    );

    expect(classifySalesforceError(err)).toEqual({
      retryable: true,
      message: 'Salesforce REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.',
    });
  });

  it('a record that is gone (404 NOT_FOUND) is a permanent error', async () => {
    nock(INSTANCE)
      .get(`/services/data/v62.0/sobjects/Account/0018d00000Gone0AAB`)
      .reply(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }], json);

    const err = await fetchSalesforceObject(
      await connection(),
      'salesforce.account',
      '0018d00000Gone0AAB',
      VERSION,
    ).catch((e: unknown) => e);

    expect(classifySalesforceError(err)).toMatchObject({
      retryable: false,
      message: 'Salesforce NOT_FOUND: The requested resource does not exist',
    });
  });

  it('an id that is not a record id is refused before any request', async () => {
    await expect(
      fetchSalesforceObject(await connection(), 'salesforce.account', '001/../../limits', VERSION),
    ).rejects.toThrow(/not a Salesforce record id/);
  });
});
