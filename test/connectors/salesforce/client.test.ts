import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { classifySalesforceError, createSalesforceConnection } from '../../../src/connectors/salesforce/client.js';
import { useStrictNock } from '../../support/nock.js';

const MY_DOMAIN = 'https://acme-logistics.my.salesforce.com';
const ACCOUNT_PATH = '/services/data/v62.0/sobjects/Account/0018d00000QxZ7pAAF';
const CLIENT = { clientId: '3MVG9TestConsumerKey', clientSecret: 'TestConsumerSecret0123456789' };
const json = { 'content-type': 'application/json;charset=UTF-8' };
const account = {
  attributes: { type: 'Account', url: ACCOUNT_PATH },
  Id: '0018d00000QxZ7pAAF',
  Name: 'Acme Logistics',
};

/** The token endpoint's answer to grant_type=client_credentials (no refresh token in this flow). */
const tokenResponse = (accessToken: string) => ({
  access_token: accessToken,
  signature: 'dGVzdC1zaWduYXR1cmU=',
  scope: 'api',
  instance_url: MY_DOMAIN,
  id: 'https://login.salesforce.com/id/00D8d000004PqRsEAK/0058d000003Hn1KAAS',
  token_type: 'Bearer',
  issued_at: '1733131533000',
});
const grant = { grant_type: 'client_credentials', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret };

useStrictNock();

describe('the Salesforce connection', () => {
  it('without an access token, gets one with client credentials at <loginUrl>/services/oauth2/token and uses it', async () => {
    nock(MY_DOMAIN).post('/services/oauth2/token', grant).reply(200, tokenResponse('00D!ClientCredentialsToken'), json);
    nock(MY_DOMAIN, { reqheaders: { authorization: 'Bearer 00D!ClientCredentialsToken' } })
      .get(ACCOUNT_PATH)
      .reply(200, account, json);

    const conn = await createSalesforceConnection({ loginUrl: MY_DOMAIN, ...CLIENT }, '62.0');

    expect(conn.version).toBe('62.0');
    expect(conn.instanceUrl).toBe(MY_DOMAIN);
    await expect(conn.sobject('Account').retrieve('0018d00000QxZ7pAAF')).resolves.toMatchObject({
      Name: 'Acme Logistics',
    });
  });

  it('asks the My Domain for the token when the login URL is login.salesforce.com, which refuses this flow', async () => {
    nock(MY_DOMAIN).post('/services/oauth2/token', grant).reply(200, tokenResponse('00D!ViaMyDomain'), json);

    const conn = await createSalesforceConnection(
      { loginUrl: 'https://login.salesforce.com', instanceUrl: MY_DOMAIN, ...CLIENT },
      '62.0',
    );

    expect(conn.accessToken).toBe('00D!ViaMyDomain');
  });

  it('says which variables to set when it cannot authenticate at all', async () => {
    await expect(createSalesforceConnection({ loginUrl: 'https://login.salesforce.com' }, '62.0')).rejects.toThrow(
      /SALESFORCE_ACCESS_TOKEN.*SALESFORCE_CLIENT_ID/,
    );
    await expect(
      createSalesforceConnection({ loginUrl: 'https://login.salesforce.com', ...CLIENT }, '62.0'),
    ).rejects.toThrow(/SALESFORCE_LOGIN_URL/);
  });

  it('renews an expired access token with client credentials and repeats the call', async () => {
    nock(MY_DOMAIN, { reqheaders: { authorization: 'Bearer 00D!Expired' } })
      .get(ACCOUNT_PATH)
      .reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }], json);
    nock(MY_DOMAIN).post('/services/oauth2/token', grant).reply(200, tokenResponse('00D!Renewed'), json);
    nock(MY_DOMAIN, { reqheaders: { authorization: 'Bearer 00D!Renewed' } })
      .get(ACCOUNT_PATH)
      .reply(200, account, json);

    const conn = await createSalesforceConnection(
      { loginUrl: MY_DOMAIN, instanceUrl: MY_DOMAIN, accessToken: '00D!Expired', ...CLIENT },
      '62.0',
    );

    await expect(conn.sobject('Account').retrieve('0018d00000QxZ7pAAF')).resolves.toMatchObject({
      Id: '0018d00000QxZ7pAAF',
    });
  });

  it('a rejected client is permanent; an unavailable token endpoint is retryable', async () => {
    nock(MY_DOMAIN)
      .post('/services/oauth2/token')
      .reply(400, { error: 'invalid_client', error_description: 'invalid client credentials' }, json)
      .post('/services/oauth2/token')
      .reply(503, 'Service Unavailable', { 'content-type': 'text/plain' });

    const rejected = await createSalesforceConnection({ loginUrl: MY_DOMAIN, ...CLIENT }, '62.0').catch(
      (e: unknown) => e,
    );
    const unavailable = await createSalesforceConnection({ loginUrl: MY_DOMAIN, ...CLIENT }, '62.0').catch(
      (e: unknown) => e,
    );

    expect(classifySalesforceError(rejected)).toEqual({
      retryable: false,
      message: 'Salesforce invalid_client: invalid client credentials',
    });
    expect(classifySalesforceError(unavailable)).toMatchObject({ retryable: true, status: 503 });
  });
});

describe('classifySalesforceError', () => {
  const apiError = (errorCode: string, message = 'x') =>
    Object.assign(new Error(message), { name: errorCode, errorCode });

  it('retries the request limit, an unavailable server and network failures (named with their cause); not a bad session or a bad query', () => {
    expect(classifySalesforceError(apiError('REQUEST_LIMIT_EXCEEDED')).retryable).toBe(true);
    expect(classifySalesforceError(apiError('SERVER_UNAVAILABLE')).retryable).toBe(true);
    expect(classifySalesforceError(apiError('ERROR_HTTP_503'))).toMatchObject({ retryable: true, status: 503 });
    expect(classifySalesforceError(apiError('ERROR_HTTP_500'))).toMatchObject({ retryable: true, status: 500 });
    const reset = new TypeError('fetch failed', {
      cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    });
    expect(classifySalesforceError(reset)).toEqual({
      retryable: true,
      message: 'Salesforce unreachable: fetch failed: read ECONNRESET',
    });
    expect(classifySalesforceError(apiError('INVALID_SESSION_ID')).retryable).toBe(false);
    expect(classifySalesforceError(apiError('MALFORMED_QUERY')).retryable).toBe(false);
    expect(classifySalesforceError(apiError('ERROR_HTTP_400'))).toMatchObject({ retryable: false, status: 400 });
  });
});
