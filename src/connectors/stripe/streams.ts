/**
 * Every Stripe account a resync or reconcile pass reads: each configured account with a key (its own
 * streams), and for a Connect platform every connected account it lists (connect.ts). A single-account
 * deployment keeps its stream names (`stripe.customers`…), so checkpoints of earlier releases still resume;
 * listed accounts read as `stripe.<label>.…`, a platform's connected accounts as `stripe.<label>.connected.…`.
 */
import type { Config } from '../../config.js';
import type { SnapshotStream } from '../../sync/resync/snapshot.js';
import { createStripeClient } from './client.js';
import { connectedAccountsStream } from './connect.js';
import { stripeEventsStream, stripeSnapshotStreams, type StripeStreamOptions } from './enumerate.js';

export interface StripeStreamsRequest extends Omit<StripeStreamOptions, 'accountId' | 'namePrefix'> {
  /** Read the Events API since then (reconcile, `resync --since` within 30 days); null: every object. */
  since: Date | null;
}

type StripeApi = Pick<Config['stripe'], 'accounts' | 'accountsListed' | 'host' | 'port' | 'protocol'>;

export function stripeResyncStreams(config: StripeApi, req: StripeStreamsRequest): SnapshotStream[] {
  const { since, ...base } = req;
  const streamsOf = (client: ReturnType<typeof createStripeClient>, opts: StripeStreamOptions): SnapshotStream[] =>
    since !== null ? [stripeEventsStream(client, { ...opts, since })] : stripeSnapshotStreams(client, opts);
  const streams: SnapshotStream[] = [];
  for (const account of config.accounts) {
    if (account.secretKey === undefined) continue;
    const api = { host: config.host, port: config.port, protocol: config.protocol, secretKey: account.secretKey };
    const client = createStripeClient(api);
    const prefix = config.accountsListed ? `stripe.${account.label}` : 'stripe';
    const own = streamsOf(client, { ...base, accountId: account.id, namePrefix: prefix });
    streams.push(...own);
    if (!account.connect) continue;
    const connectedPrefix = `${prefix}.connected`;
    for (const kind of own.map((s) => s.name.slice(prefix.length + 1))) {
      streams.push(
        connectedAccountsStream(client, `${connectedPrefix}.${kind}`, (accountId) => {
          const reader = createStripeClient(api, { stripeAccount: accountId });
          const all = streamsOf(reader, { ...base, accountId, namePrefix: connectedPrefix });
          return all.find((s) => s.name === `${connectedPrefix}.${kind}`)!;
        }),
      );
    }
  }
  return streams;
}
