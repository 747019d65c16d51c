/**
 * What the benches share: the configuration a bench's daemon or worker runs with (the real loader, on the
 * bench's Redis and prefix, quiet, on a free port), a signed webhook POST that resolves to its status, and the
 * two small helpers every bench writes its figures with.
 */
import { request, type Agent } from 'node:http';
import { loadConfig, type Config } from '../../src/config.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A figure as printed: `digits` after the point. */
export const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/** The configuration from these environment variables, as `portal-sync start` would load it; a problem throws. */
export function benchConfig(redisUrl: string, prefix: string, env: Record<string, string> = {}): Config {
  const loaded = loadConfig({
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return loaded.config;
}

/** POSTs a signed Stripe webhook body; resolves to the answer's status once its head arrived. */
export function postStripeWebhook(agent: Agent, url: URL, body: string, signature: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        hostname: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'stripe-signature': signature,
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
