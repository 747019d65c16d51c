/**
 * The upgrade of a single-account deployment, as an operator runs it: records written with `stripe:cus_…`
 * keys, `portal-sync migrate stripe-accounts` reading the account id from Stripe (GET /v1/account) when
 * STRIPE_ACCOUNT_ID is not set yet, then the daemon restarted with STRIPE_ACCOUNT_ID: its worker moves what the
 * command could not have seen, and the account's events land in the customers' existing records, links kept.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStripeEvent } from '../../src/connectors/stripe/events.js';
import { startStripeStandIn, type StripeStandIn } from '../../src/demo/standins/stripe/index.js';
import { stripeKeysMigratedTo } from '../../src/sync/admin/migrate-stripe-keys.js';
import { RecordStore } from '../../src/sync/events/store.js';
import { runCli } from '../support/cli.js';
import { sendStripe } from '../support/e2e.js';
import { fixtureJson } from '../support/http.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';

const ACCOUNT = 'acct_1SingleFAKE000001';
const SF = '001TestAcme0001IEA';
let stripe: StripeStandIn;
let redis: Redis;
let store: RecordStore;
const prefix = uniquePrefix();
let pipeline: TestPipeline | undefined;

/** What a single-account release stored: its customer.updated, keyed stripe:cus_…, linked to an Account by metadata. */
async function writeOld(customerId: string, eventId: string, sfAccount: string | null): Promise<string> {
  const raw = fixtureJson<any>('stripe/customer.updated.json');
  raw.id = eventId;
  raw.data.object.id = customerId;
  raw.data.object.email = `${customerId.toLowerCase()}@example.test`;
  raw.data.object.metadata = sfAccount ? { salesforce_account_id: sfAccount } : {};
  const parsed = parseStripeEvent(raw);
  if (parsed.kind !== 'events') throw new Error(parsed.reason);
  return (await store.apply(parsed.events[0]!)).recordId;
}

beforeAll(async () => {
  stripe = await startStripeStandIn({ accountId: ACCOUNT });
  redis = new Redis(redisUrl());
  store = new RecordStore(redis, prefix);
});
afterAll(async () => {
  await pipeline?.stop();
  store.close();
  redis.disconnect();
  await stripe.close();
  await deleteByPrefix(redisUrl(), prefix);
});

describe('portal-sync migrate stripe-accounts', () => {
  it('reads the account from Stripe, moves every old key to it and keeps the links; the restarted worker moves the stragglers', async () => {
    const acme = await writeOld('cus_TestAcme01', 'evt_old_acme', SF);
    const env = { REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, ...stripe.env };
    const dry = await runCli(['migrate', 'stripe-accounts', '--dry-run', '--json'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({ accountId: ACCOUNT, accountFrom: 'GET /v1/account', moved: 1, dryRun: true });
    expect(await store.findByKey('stripe:cus_TestAcme01')).not.toBeNull();

    const run = await runCli(['migrate', 'stripe-accounts'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Stripe keys moved to ${ACCOUNT} (from GET /v1/account): 1, none left`);
    expect(run.stdout).toContain(`Now set STRIPE_ACCOUNT_ID=${ACCOUNT}`);
    expect((await store.findByKey(`stripe:${ACCOUNT}:cus_TestAcme01`))?.id).toBe(acme);
    expect(await stripeKeysMigratedTo(redis, prefix)).toBe(ACCOUNT);
    // Another account than the one migrated to is refused, naming both.
    const other = await runCli(['migrate', 'stripe-accounts', '--account', 'acct_1OtherFAKE'], env);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/migrated to acct_1SingleFAKE000001 already/);

    // A customer an old worker wrote after the command's scan passed: the restarted worker moves it.
    const late = await writeOld('cus_Late01', 'evt_old_late', null);
    pipeline = await startTestPipeline({ REDIS_PREFIX: prefix, STRIPE_ACCOUNT_ID: ACCOUNT, ...stripe.env });
    expect((await store.findByKey(`stripe:${ACCOUNT}:cus_Late01`))?.id).toBe(late);
    expect(await store.findByKey('stripe:cus_Late01')).toBeNull();

    // The account's next event joins the existing record: no new record, no conflict, the Account link kept.
    await sendStripe(pipeline.daemon, 'customer.updated.json', (e) => {
      e.created += 60;
      e.data.object.metadata = { salesforce_account_id: SF };
    });
    await pipeline.drain();
    const after = await store.findByKey(`stripe:${ACCOUNT}:cus_TestAcme01`);
    expect(after?.id).toBe(acme);
    expect(await store.ownedKeys(acme)).toEqual(
      expect.arrayContaining([`stripe:${ACCOUNT}:cus_TestAcme01`, `sfacct:${SF}`]),
    );
    expect(await store.listConflicts()).toEqual([]);
  }, 120_000);
});
