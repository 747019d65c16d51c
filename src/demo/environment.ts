/**
 * The demo's world: Redis (a private redis-server when none answers, as `start` does), the
 * three platform stand-ins on loopback ports, and the real daemon in this process (web and
 * worker roles, both portal targets) configured through loadConfig like any deployment,
 * with secrets generated for this run only. Nothing here is a credential of anything real.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { connectRedis } from '../sync/redis/connection.js';
import { loadConfig, type Config } from '../config.js';
import { createPortalTarget } from '../connectors/targets.js';
import { createZendeskClient } from '../connectors/zendesk/client.js';
import { applyZendeskSetup, planZendeskSetup, type ZendeskSetupStep } from '../connectors/zendesk/setup.js';
import { ensureRedis } from '../sync/redis/private-redis.js';
import { freePort } from '../sync/redis/spawn-redis.js';
import { startDaemon, type RunningDaemon } from '../daemon.js';
import { createLogger, type Logger } from '../log.js';
import { startSalesforceStandIn, type SalesforceStandIn } from './standins/salesforce/index.js';
import { startStripeStandIn, type StripeStandIn } from './standins/stripe/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from './standins/zendesk/index.js';
import { startWorker, type RunningWorker } from '../worker-role.js';
import { provisionedSalesforceFields } from './salesforce-fields.js';
import { REDIS_KEYS } from '../sync/redis/keys.js';

const DEFAULT_DEMO_PORT = 3000;
/** The customer contact the scripted day creates in Zendesk (script.ts), whose help center page the demo shows. */
export const DEMO_CONTACT_NAME = 'Ann Lee';

export interface DemoEnvironmentOptions {
  /** The daemon's port. Unset: 3000, or a free port when 3000 is taken. 0: a free port. */
  port?: number;
  /** Default: REDIS_URL, else redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** The daemon's own log level; its JSON logs go to stderr (default warn). */
  logLevel?: Config['logLevel'];
  /** Notices for the person running the demo (a private Redis was started, another port was taken…). */
  say?: (message: string) => void;
}

/** Secrets made for this run: what an operator would copy from each platform's settings. */
interface DemoSecrets {
  stripeWebhook: string;
  zendeskWebhook: string;
  salesforceOutboundToken: string;
  salesforceWebhook: string;
  portalEvents: string;
  adminToken: string;
}

export interface DemoEnvironment {
  config: Config;
  /** The environment the daemon was configured from: what a CLI in another shell needs to reach this demo. */
  env: Record<string, string>;
  daemonUrl: string;
  secrets: DemoSecrets;
  stripe: StripeStandIn;
  zendesk: ZendeskStandIn;
  salesforce: SalesforceStandIn;
  daemon: RunningDaemon;
  worker: RunningWorker;
  /** What `setup zendesk` did against the Zendesk stand-in. */
  zendeskSetup: ZendeskSetupStep[];
  /** Ann's billing page on the Zendesk stand-in's help center (the Help Center kit), through its sign-in page. */
  helpCenterUrl: string;
  logger: Logger;
  /** Until every webhook the stand-ins owe is delivered and every queue the daemon feeds is idle, echoes included. */
  settle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const secret = (bytes = 24) => randomBytes(bytes).toString('base64url');

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function choosePort(wanted: number | undefined, say: (m: string) => void): Promise<number> {
  if (wanted === 0) return freePort();
  if (wanted !== undefined) {
    if (!(await portFree(wanted)))
      throw new Error(`port ${wanted} is taken on 127.0.0.1: choose another with --port (0: any free port)`);
    return wanted;
  }
  if (await portFree(DEFAULT_DEMO_PORT)) return DEFAULT_DEMO_PORT;
  const port = await freePort();
  say(`port ${DEFAULT_DEMO_PORT} is taken: the demo daemon listens on ${port} instead (choose one with --port)`);
  return port;
}

/** Deletes every key this run wrote, so a shared Redis is left as it was found. */
async function deletePrefix(url: string, prefix: string): Promise<void> {
  const redis = connectRedis(url, 'admin', { lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', REDIS_KEYS.everything(prefix), 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Short deflection windows, so a scripted day completes in seconds: a session ends after 2 s
 * without activity, and counts as deflected 4 s after its last activity without a ticket.
 */
function demoTweaks(config: Config): void {
  config.deflection.sessionIdleMs = 2_000;
  config.deflection.windowMs = 4_000;
  config.deflection.lateTicketGraceMs = 500;
  config.deflection.sweepEveryMs = 1_000;
  config.push.debounceMs = 150;
  config.push.backoffMs = 500;
  config.server.shutdownGraceMs = 2_000;
  // Every webhook of the scripted day is delivered; the hourly reconciler would only add noise here.
  config.reconcile.everyMs = 0;
}

function makeSecrets(): DemoSecrets {
  return {
    stripeWebhook: `whsec_${secret()}`,
    zendeskWebhook: secret(),
    salesforceOutboundToken: secret(),
    salesforceWebhook: secret(),
    portalEvents: secret(),
    adminToken: secret(),
  };
}

/** What the demo started, stopped in the reverse order; a failure to stop one is logged and the rest still stop. */
function createClosers(logger: Logger) {
  const closers: (() => Promise<void> | void)[] = [];
  return {
    add: (close: () => Promise<void> | void) => void closers.push(close),
    closeAll: async () => {
      for (const close of closers.splice(0).reverse())
        await Promise.resolve(close()).catch((err: unknown) =>
          logger.warn({ err: (err as Error).message }, 'demo: error while stopping'),
        );
    },
  };
}
type Closers = ReturnType<typeof createClosers>;

interface StandIns {
  stripe: StripeStandIn;
  zendesk: ZendeskStandIn;
  salesforce: SalesforceStandIn;
  /** The API user the daemon signs in to the Zendesk stand-in as. */
  zendeskAuth: { email: string; token: string };
}

/** The three platforms, on loopback ports, each sending its webhooks to the daemon's URL. */
async function startStandIns(daemonUrl: string, secrets: DemoSecrets, closers: Closers): Promise<StandIns> {
  const stripe = await startStripeStandIn({
    webhookUrl: `${daemonUrl}/webhooks/stripe`,
    webhookSecret: secrets.stripeWebhook,
    seed: Date.now() & 0xffff,
  });
  closers.add(() => stripe.close());
  const zendeskAuth = { email: 'portal-sync@demo.example', token: secret(30) };
  const zendesk = await startZendeskStandIn({
    auth: zendeskAuth,
    webhook: { url: `${daemonUrl}/webhooks/zendesk`, secret: secrets.zendeskWebhook },
  });
  closers.add(() => zendesk.close());
  const salesforce = await startSalesforceStandIn({
    outbound: {
      url: `${daemonUrl}/webhooks/salesforce?token=${secrets.salesforceOutboundToken}`,
      orgId: '00D5e000000DemoAAA',
    },
  });
  closers.add(() => salesforce.close());
  return { stripe, zendesk, salesforce, zendeskAuth };
}

/** The daemon's environment, as an operator would write it: the stand-ins' endpoints and this run's secrets. */
function daemonEnvironment(
  where: { redisUrl: string; prefix: string; port: number; logLevel: string },
  secrets: DemoSecrets,
  { stripe, zendesk, salesforce, zendeskAuth }: StandIns,
): Record<string, string> {
  return {
    REDIS_URL: where.redisUrl,
    REDIS_PREFIX: where.prefix,
    PORT: String(where.port),
    HOST: '127.0.0.1',
    LOG_LEVEL: where.logLevel,
    STRIPE_WEBHOOK_SECRET: secrets.stripeWebhook,
    ...stripe.env,
    ZENDESK_BASE_URL: zendesk.baseUrl,
    ZENDESK_EMAIL: zendeskAuth.email,
    ZENDESK_API_TOKEN: zendeskAuth.token,
    ZENDESK_WEBHOOK_SECRET: secrets.zendeskWebhook,
    SALESFORCE_LOGIN_URL: salesforce.loginUrl,
    SALESFORCE_CLIENT_ID: salesforce.clientId,
    SALESFORCE_CLIENT_SECRET: salesforce.clientSecret,
    SALESFORCE_ORG_ID: salesforce.orgId,
    SALESFORCE_OUTBOUND_TOKEN: secrets.salesforceOutboundToken,
    SALESFORCE_WEBHOOK_SECRET: secrets.salesforceWebhook,
    PORTAL_EVENTS_SECRET: secrets.portalEvents,
    PORTAL_ORIGINS: zendesk.origin,
    ADMIN_TOKEN: secrets.adminToken,
    PORTAL_TARGET: 'zendesk,salesforce',
  };
}

/**
 * The portal side, provisioned as an operator would: `setup zendesk` against Zendesk, the
 * metadata package deployed to Salesforce. Returns what `setup zendesk` did.
 */
async function provisionPortals(config: Config, salesforce: SalesforceStandIn): Promise<ZendeskSetupStep[]> {
  for (const [sobject, fields] of Object.entries(
    provisionedSalesforceFields(config.targets.salesforce, undefined, config.mapping),
  )) {
    for (const field of fields) salesforce.state.defineField(sobject, field);
  }
  const zendeskClient = createZendeskClient(config.zendesk);
  // As `portal-sync setup zendesk` does: the mapped fields too (Zendesk drops a value of a field it lacks).
  const opts = { mapping: config.mapping };
  return applyZendeskSetup(
    zendeskClient,
    config.targets.zendesk,
    await planZendeskSetup(zendeskClient, config.targets.zendesk, opts),
    opts,
  );
}

/** The help center's theme: the kit reads this daemon, and an open page follows the script each second. Returns Ann's page. */
function pointHelpCenter(zendesk: ZendeskStandIn, daemonUrl: string): string {
  zendesk.theme.settings.portal_sync_api_url = daemonUrl;
  zendesk.theme.settings.portal_sync_refresh_seconds = '1';
  return `${zendesk.origin}/hc/en-us/signin?name=${encodeURIComponent(DEMO_CONTACT_NAME)}&return_to=${encodeURIComponent('/hc/en-us/p/billing')}`;
}

/** Waits until every webhook the stand-ins owe is delivered and every queue the daemon feeds is idle, echoes included. */
function createSettle(
  { stripe, zendesk, salesforce }: StandIns,
  daemon: RunningDaemon,
  worker: RunningWorker,
): DemoEnvironment['settle'] {
  const queues = () => [daemon.queue, ...worker.planner.queues.values()];
  const activity = () =>
    stripe.webhookDeliveries.length +
    zendesk.webhookDeliveries.length +
    salesforce.outbound.length +
    zendesk.calls.length +
    salesforce.calls.length;
  const idle = async () => {
    for (const q of queues()) {
      const counts = await q.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
      if (Object.values(counts).some((n) => n > 0)) return false;
    }
    return true;
  };
  return async (timeoutMs = 30_000) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const before = activity();
      await Promise.all([stripe.flushWebhooks(), zendesk.flushWebhooks(), salesforce.flushOutbound()]);
      while (!(await idle())) {
        if (Date.now() > end) throw new Error('the daemon did not catch up within 30 s (see its log on stderr)');
        await new Promise((r) => setTimeout(r, 25));
      }
      // Our pushes come back as platform webhooks (echoes): settled once a pass changes nothing.
      if (activity() === before) return;
    }
  };
}

export async function startDemoEnvironment(opts: DemoEnvironmentOptions = {}): Promise<DemoEnvironment> {
  const say = opts.say ?? (() => undefined);
  const logger = createLogger(opts.logLevel ?? 'warn', process.stderr);
  const secrets = makeSecrets();
  const port = await choosePort(opts.port, say);
  const redis = await ensureRedis(opts.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', say);
  const prefix = `portal-sync-demo-${randomBytes(4).toString('hex')}`;
  const daemonUrl = `http://127.0.0.1:${port}`;

  const closers = createClosers(logger);
  closers.add(() => redis.stop?.());
  // A private redis-server is thrown away whole; a shared one keeps nothing of this run.
  if (!redis.stop) closers.add(() => deletePrefix(redis.url, prefix));

  try {
    const standIns = await startStandIns(daemonUrl, secrets, closers);
    const { stripe, zendesk, salesforce } = standIns;
    const where = { redisUrl: redis.url, prefix, port, logLevel: opts.logLevel ?? 'warn' };
    const env = daemonEnvironment(where, secrets, standIns);
    const loaded = loadConfig(env);
    if (!loaded.ok) throw new Error(`demo configuration is invalid (a bug in the demo): ${loaded.problems.join('; ')}`);
    const config = loaded.config;
    demoTweaks(config);
    const zendeskSetup = await provisionPortals(config, salesforce);
    const helpCenterUrl = pointHelpCenter(zendesk, daemonUrl);

    const daemon = await startDaemon(config, logger);
    closers.add(() => daemon.close());
    const worker = await startWorker(config, logger, {
      registry: daemon.metrics.registry,
      targets: createPortalTarget,
    });
    closers.add(() => worker.close());

    return {
      config,
      env,
      daemonUrl,
      secrets,
      stripe,
      zendesk,
      salesforce,
      daemon,
      worker,
      zendeskSetup,
      helpCenterUrl,
      logger,
      settle: createSettle(standIns, daemon, worker),
      close: closers.closeAll,
    };
  } catch (err) {
    await closers.closeAll();
    throw err;
  }
}
