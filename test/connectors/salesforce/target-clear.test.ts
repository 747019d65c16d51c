/**
 * The Salesforce target's clear (`identity forget --portal clear`) on the wire, through jsforce:
 * the billing Account fields are emptied with one PATCH (marked as our write), the invoice and ticket
 * records are found by their external ids with SOQL and deleted with one sObject Collections DELETE
 * per object; the deflection events recorded on the Account are found by Account and deleted the
 * same way; a record already deleted counts as gone, one Salesforce refuses is named with its
 * reason, and an Account that no longer exists is not a failure.
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createSalesforceTarget } from '../../../src/connectors/salesforce/target.js';
import { useStrictNock } from '../../support/nock.js';

const INSTANCE = 'https://acme-logistics.my.salesforce.com';
const TOKEN = '00D8d000004PqRs!AQ0AQTestAccessToken';
const ACCOUNT_ID = '0018d00000QxZ7pAAF';
const API = '/services/data/v62.0';
const ourWrite = { authorization: `Bearer ${TOKEN}`, 'sforce-call-options': 'client=portal-sync' };
const json = { 'content-type': 'application/json;charset=UTF-8', 'sforce-limit-info': 'api-usage=10018/100000' };

const loaded = loadConfig({
  PORTAL_TARGET: 'salesforce',
  SALESFORCE_INSTANCE_URL: INSTANCE,
  SALESFORCE_ACCESS_TOKEN: TOKEN,
});
if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
const config = loaded.config;
const place = { zendeskOrganizationId: null, salesforceAccountId: ACCOUNT_ID, contacts: [] };
const INV_A = 'in_1QKp2xLkdIwHu7ixOpen0001';
const INV_B = 'in_1QKp2xLkdIwHu7ixPaid0002';
const queryOf = (q: string) => (query: Record<string, unknown>) => query['q'] === q;
const deflectionsOn = (...accounts: string[]) =>
  `SELECT Id, Event_Id__c FROM Portal_Deflection_Event__c WHERE Account__c IN (${accounts.map((a) => `'${a}'`).join(', ')}) AND Event_Id__c != null`;

useStrictNock();

describe("the Salesforce target's clear", () => {
  it('empties the Account fields and deletes the records by the ids their external ids name, reporting each outcome', async () => {
    nock(INSTANCE, { reqheaders: ourWrite })
      .patch(`${API}/sobjects/Account/${ACCOUNT_ID}`, {
        Billing_Status__c: null,
        Billing_Plan__c: null,
        Billing_MRR__c: null,
        Billing_Balance__c: null,
        Next_Invoice_Date__c: null,
        Billing_Delinquent__c: false,
        Open_Support_Tickets__c: null,
      })
      .reply(204, '', json);
    nock(INSTANCE)
      .get(`${API}/query`)
      .query(
        queryOf(
          `SELECT Id, Stripe_Invoice_Id__c FROM Portal_Invoice__c WHERE Stripe_Invoice_Id__c IN ('${INV_A}', '${INV_B}', 'in_it\\'s')`,
        ),
      )
      .reply(
        200,
        {
          totalSize: 2,
          done: true,
          records: [
            { attributes: { type: 'Portal_Invoice__c' }, Id: 'a0A8d00000InvAAAA', Stripe_Invoice_Id__c: INV_A },
            { attributes: { type: 'Portal_Invoice__c' }, Id: 'a0A8d00000InvBAAA', Stripe_Invoice_Id__c: INV_B },
          ],
        },
        json,
      )
      .get(`${API}/query`)
      .query(queryOf("SELECT Id, Zendesk_Ticket_Id__c FROM Support_Ticket__c WHERE Zendesk_Ticket_Id__c IN ('5301')"))
      .reply(
        200,
        {
          totalSize: 1,
          done: true,
          records: [
            { attributes: { type: 'Support_Ticket__c' }, Id: 'a0B8d00000TktAAAA', Zendesk_Ticket_Id__c: '5301' },
          ],
        },
        json,
      )
      .get(`${API}/query`)
      .query(queryOf(deflectionsOn(ACCOUNT_ID)))
      .reply(
        200,
        {
          totalSize: 2,
          done: true,
          records: [
            { attributes: { type: 'Portal_Deflection_Event__c' }, Id: 'a0C8d00000DefAAAA', Event_Id__c: 'defl-s1' },
            { attributes: { type: 'Portal_Deflection_Event__c' }, Id: 'a0C8d00000DefBAAA', Event_Id__c: 'defl-s2' },
          ],
        },
        json,
      );
    nock(INSTANCE, { reqheaders: ourWrite })
      .delete(`${API}/composite/sobjects`)
      .query({ ids: 'a0A8d00000InvAAAA,a0A8d00000InvBAAA' })
      .reply(
        200,
        [
          { success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] },
          {
            success: false,
            errors: [
              {
                statusCode: 'INSUFFICIENT_ACCESS_OR_READONLY',
                message: 'insufficient access rights on object id',
                fields: [],
              },
            ],
          },
        ],
        json,
      )
      .delete(`${API}/composite/sobjects`)
      .query({ ids: 'a0B8d00000TktAAAA' })
      .reply(200, [{ id: 'a0B8d00000TktAAAA', success: true, errors: [] }], json)
      .delete(`${API}/composite/sobjects`)
      .query({ ids: 'a0C8d00000DefAAAA,a0C8d00000DefBAAA' })
      .reply(
        200,
        [
          { id: 'a0C8d00000DefAAAA', success: true, errors: [] },
          { success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }] },
        ],
        json,
      );

    const out = await createSalesforceTarget(config).clear!({
      places: [place],
      invoiceIds: [INV_A, INV_B, "in_it's"],
      ticketIds: ['5301'],
    });

    expect(out).toEqual({
      calls: 7,
      cleared: [`account_fields:${ACCOUNT_ID}`, 'ticket:5301', 'deflection:defl-s1'],
      absent: ["invoice:in_it's", `invoice:${INV_A}`, 'deflection:defl-s2'],
      failed: [`invoice:${INV_B}: Salesforce INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights on object id`],
    });
  });

  it('counts an Account that is gone as nothing to clear, and names a refused update', async () => {
    const gone = '0018d00000QxZ7qAAF';
    nock(INSTANCE)
      .patch(`${API}/sobjects/Account/${gone}`)
      .reply(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }], json)
      .patch(`${API}/sobjects/Account/${ACCOUNT_ID}`)
      .reply(
        400,
        [{ errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'Billing status is locked', fields: [] }],
        json,
      )
      .get(`${API}/query`)
      .query(queryOf(deflectionsOn(gone, ACCOUNT_ID)))
      .reply(200, { totalSize: 0, done: true, records: [] }, json);

    const out = await createSalesforceTarget(config).clear!({
      places: [{ ...place, salesforceAccountId: gone }, place],
      invoiceIds: [],
      ticketIds: [],
    });

    expect(out).toEqual({
      calls: 3,
      cleared: [],
      absent: [`account_fields:${gone}`],
      failed: [`account_fields:${ACCOUNT_ID}: Salesforce FIELD_CUSTOM_VALIDATION_EXCEPTION: Billing status is locked`],
    });
  });
});
