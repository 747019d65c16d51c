/**
 * The one express app: webhook receivers, portal events, health and metrics,
 * and the admin area (off unless ADMIN_TOKEN is set).
 * Bodies are captured raw (signatures are over bytes), limited in size, and
 * only then verified and parsed by each receiver.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createDeflectionData } from '../sync/deflection/store.js';
import type { Ingestor } from '../sync/events/ingest.js';
import { pingRedis, type Redis } from '../sync/redis/connection.js';
import type { Source } from '../sync/events/source-event.js';
import { adminDashboardRouter } from './admin/dashboard.js';
import { adminRouter, adminTokenMatches, bearerToken } from './admin/token.js';
import { AdminGuard } from './admin/guard.js';
import type { EdgeMetrics } from './metrics.js';
import { portalReceiver } from './portal.js';
import { createHelpCenterAuth, helpCenterCors, portalViewRouter, type HelpCenterAuth } from './portal-view.js';
import type { ReceiverDeps } from './receive.js';
import { requestId } from './request-id.js';
import { salesforceReceiver } from './salesforce.js';
import { stripeReceiver } from './stripe.js';
import { modeSetting } from '../config-stripe.js';
import { stripeParseKeys } from '../connectors/stripe/events.js';
import { zendeskReceiver } from './zendesk.js';
import { webhookFastPath, type JsonResponse } from './fast-path.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  ingestor: Ingestor;
  redis: Redis;
  metrics: EdgeMetrics;
  /** Set when `start --dev-redis` runs a private in-memory Redis: /readyz says so. */
  devRedis?: string;
}

const ROUTES: Record<Source, string> = {
  stripe: '/webhooks/stripe',
  zendesk: '/webhooks/zendesk',
  salesforce: '/webhooks/salesforce',
  portal: '/events/portal',
};

function notConfigured(source: Source, variables: string): RequestHandler {
  return (_req, res) => {
    res
      .status(404)
      .json({ error: `${source} events are not configured here: set ${variables}`, reason: 'not_configured' });
  };
}

/** Which receivers this configuration enables; the rest answer 404 with what to set. */
function enabledReceivers(config: Config, deps: ReceiverDeps, auth?: HelpCenterAuth): Record<Source, RequestHandler> {
  const w = config.webhooks;
  const sf = config.salesforceAuth;
  return {
    stripe: config.stripe.accounts.some((a) => a.webhookSecrets.length + a.connectWebhookSecrets.length > 0)
      ? stripeReceiver(deps, {
          accounts: config.stripe.accounts,
          toleranceSeconds: w.stripeToleranceSeconds,
          crossIdKeys: stripeParseKeys(config),
          modeSetting: (account) => modeSetting(account, config.stripe.accountsListed),
        })
      : notConfigured('stripe', 'STRIPE_WEBHOOK_SECRET'),
    zendesk: config.zendesk.webhookSecrets.length
      ? zendeskReceiver(deps, {
          webhookSecrets: config.zendesk.webhookSecrets,
          toleranceSeconds: w.zendeskToleranceSeconds,
        })
      : notConfigured('zendesk', 'ZENDESK_WEBHOOK_SECRET'),
    salesforce:
      sf.orgId || sf.webhookSecret
        ? salesforceReceiver(deps, {
            ...(sf.orgId ? { orgId: sf.orgId } : {}),
            ...(sf.outboundToken ? { outboundToken: sf.outboundToken } : {}),
            ...(sf.webhookSecret ? { webhookSecret: sf.webhookSecret } : {}),
            toleranceSeconds: w.hmacToleranceSeconds,
            clientId: config.salesforce.clientId,
          })
        : notConfigured('salesforce', 'SALESFORCE_ORG_ID and SALESFORCE_OUTBOUND_TOKEN, or SALESFORCE_WEBHOOK_SECRET'),
    portal:
      config.portal.eventsSecret || auth
        ? portalReceiver(deps, {
            ...(config.portal.eventsSecret ? { secret: config.portal.eventsSecret } : {}),
            ...(auth ? { auth } : {}),
            toleranceSeconds: w.hmacToleranceSeconds,
            brands: { listed: config.zendesk.brands ?? [] },
          })
        : notConfigured(
            'portal',
            'PORTAL_EVENTS_SECRET, or ZENDESK_SUBDOMAIN / ZENDESK_HELP_CENTER_JWKS_URL for help center JWTs',
          ),
  };
}

/** server.trustProxy → express's `trust proxy` value: none trusts no proxy (the socket's peer is the client). */
function trustProxySetting(value: Config['server']['trustProxy']): boolean | number | string[] {
  return value === 'none' ? false : value;
}

/** With METRICS_TOKEN set, /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`. */
function requireMetricsToken(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    if (token === undefined) return next();
    const given = bearerToken(req.get('authorization'));
    if (given !== undefined && adminTokenMatches(given, token)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="portal-sync metrics"');
    res.status(401).json({ error: 'metrics: send Authorization: Bearer <METRICS_TOKEN>' });
  };
}

/**
 * The web role: the express app, and the server's request listener, which answers the Stripe and Zendesk webhooks
 * on the fast path (fast-path.ts) and hands every other request (and a webhook the fast path leaves) to the app.
 */
export function createApp(deps: AppDeps): { app: Express; listener: RequestListener } {
  const { config, logger, metrics, redis } = deps;
  const app = express();
  app.disable('x-powered-by');
  // No ETag on any answer: webhook answers are POSTs nobody revalidates, and the JSON of the other routes is never
  // cached either (the customer view writes its own, without one). Hashing each body cost the ingest path (bench:ingest).
  app.disable('etag');
  app.set('trust proxy', trustProxySetting(config.server.trustProxy));

  // The provider webhooks first (the hot path: no other route's matching ahead of them), with a request log of their
  // own: pino-http's child logger per request (its bindings serialized and redacted even when nothing is logged) cost
  // more than verifying the signature (bench:ingest).
  const auth = createHelpCenterAuth(config, logger);
  const raw = express.raw({ type: () => true, limit: config.server.bodyLimitBytes });
  const receivers = enabledReceivers(
    config,
    {
      ingestor: deps.ingestor,
      metrics,
      logger,
      eventTimes: config.webhooks,
      maxObjectsPerRequest: config.webhooks.maxObjectsPerRequest,
    },
    auth,
  );
  const accessLog = requestLog(logger);
  // Express keeps the fast path's routes too: for the requests the fast path leaves to it (a compressed body).
  for (const source of ['stripe', 'zendesk', 'salesforce'] as const)
    app.post(ROUTES[source], accessLog, raw, receivers[source]);
  const listener = webhookFastPath(
    {
      routes: new Map([
        [ROUTES.stripe, receivers.stripe],
        [ROUTES.zendesk, receivers.zendesk],
      ]),
      bodyLimitBytes: config.server.bodyLimitBytes,
      accessLog: logRequest(logger),
      answerError: (err, path, res) => answerError(deps, err, path, res),
    },
    app,
  );

  // Ahead of the access log too: the customer's own view is read on every page a customer opens, and
  // logs its own refusals and failures (with the request id); a per-request child logger cost more than the read.
  app.use(portalViewRouter({ config, redis, logger, auth }));

  app.use(
    pinoHttp({
      logger,
      genReqId: requestId,
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
      // The query string can hold the Salesforce endpoint token: log the path only, and only safe headers.
      serializers: {
        req: (req: { id: unknown; method: string; url: string; headers: Record<string, unknown> }) => ({
          id: req.id,
          method: req.method,
          path: req.url.split('?')[0],
          userAgent: req.headers['user-agent'],
          contentLength: req.headers['content-length'],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await pingRedis(redis);
    res.status(ok ? 200 : 503).json({
      status: ok ? 'ready' : 'redis unreachable',
      redis: ok,
      ...(deps.devRedis && { devRedis: deps.devRedis }),
    });
  });
  app.get('/metrics', requireMetricsToken(config.metricsToken), async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // Browsers on the Help Center send portal activity with a help center JWT: preflight and CORS for those origins only.
  app.use(ROUTES.portal, helpCenterCors(config.helpCenter.origins, 'POST, OPTIONS'));
  app.post(ROUTES.portal, raw, receivers.portal);

  const guard = config.adminToken
    ? new AdminGuard(redis, config.redis.prefix, config.adminToken, config.admin, logger)
    : undefined;
  app.use(
    '/admin',
    adminDashboardRouter({
      adminToken: config.adminToken,
      guard,
      config,
      redis,
      ingestor: deps.ingestor,
      metrics,
      logger,
    }),
  );
  app.use(
    '/admin',
    adminRouter({
      adminToken: config.adminToken,
      guard,
      deflection: createDeflectionData(redis, config.redis.prefix),
      logger,
      brands: { listed: config.zendesk.brands ?? [] },
    }),
  );

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(errorHandler(deps));
  return { app, listener };
}

/**
 * The request id (X-Request-Id) and the "request completed" line of pino-http, in the same shape (path only, safe
 * headers), without a child logger per request: one log call when the answer is sent, none when info is off.
 */
function requestLog(logger: Logger): RequestHandler {
  const log = logRequest(logger);
  return (req, res, next) => {
    log(req, res);
    next();
  };
}

/** requestLog on node's own request and response (the fast path's): the id now, the line once the answer is sent. */
function logRequest(logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const id = requestId(req, res);
    if (!logger.isLevelEnabled('info')) return;
    const started = Date.now();
    res.once('close', () => {
      logger.info(
        {
          req: {
            id,
            method: req.method,
            path:
              (req as IncomingMessage & { originalUrl?: string }).originalUrl?.split('?')[0] ?? req.url?.split('?')[0],
            userAgent: req.headers['user-agent'],
            contentLength: req.headers['content-length'],
          },
          res: { statusCode: res.statusCode },
          responseTime: Date.now() - started,
        },
        !req.readableAborted && res.writableEnded ? 'request completed' : 'request aborted',
      );
    });
  };
}

/** Body-parser failures become the documented 4xx; anything else a 500 without a stack trace. */
function errorHandler(deps: AppDeps): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => answerError(deps, err, req.path, res);
}

/** errorHandler's answer to `err` on the request of `path`; the fast path's errors get the same (fast-path.ts). */
function answerError({ logger, metrics }: AppDeps, error: unknown, path: string, res: JsonResponse): void {
  const err = (error ?? {}) as { type?: string; status?: number; message?: string };
  const source = (Object.entries(ROUTES).find(([, p]) => p === path)?.[0] ?? 'other') as Source;
  if (err.type === 'entity.too.large') {
    metrics.rejections.inc({ source, reason: 'too_large' });
    logger.warn({ source, reason: 'too_large' }, 'webhook rejected');
    res
      .status(413)
      .json({ error: 'body is larger than the configured limit (server.bodyLimitBytes)', reason: 'too_large' });
    return;
  }
  if (typeof err.status === 'number' && err.status >= 400 && err.status < 500) {
    metrics.rejections.inc({ source, reason: 'bad_request' });
    res.status(err.status).json({ error: err.message ?? 'bad request', reason: 'bad_request' });
    return;
  }
  logger.error({ err, path }, 'unhandled error');
  if (!res.headersSent) res.status(500).json({ error: 'internal error' });
}
