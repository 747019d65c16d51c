/**
 * Parse a quarantined body again with today's parsers — what `dlq replay`
 * does after a parser fix. The body was verified when it arrived; it is not
 * verified again (signatures expire, and the stored bytes are ours).
 */
import type { Config } from '../config.js';
import { parsePortalEvents } from './portal/events.js';
import { parseSalesforceJson } from './salesforce/cdc.js';
import { parseOutboundMessage } from './salesforce/outbound.js';
import { parseStripeEvent, stripeParseKeys } from './stripe/events.js';
import { parseZendeskWebhook } from './zendesk/events.js';
import { boundEventTimes } from '../sync/events/event-time.js';
import type { QuarantineEntry } from '../sync/events/quarantine.js';
import type { ParseResult, Source } from '../sync/events/source-event.js';

type Reparser = (body: string, config: Config, entry: QuarantineEntry) => ParseResult[];

const json = (body: string): unknown => JSON.parse(body);

const REPARSERS: Record<Source, Reparser> = {
  stripe: (body, config, entry) => [
    parseStripeEvent(json(body), stripeParseKeys(config), entry.stripeAccountId ?? null),
  ],
  zendesk: (body, _config, entry) => [
    parseZendeskWebhook(json(body), entry.signedAt ? { signedAt: entry.signedAt } : {}),
  ],
  portal: (body) => parsePortalEvents(json(body)),
  salesforce: (body, config) => {
    if (body.trimStart().startsWith('<')) {
      const parsed = parseOutboundMessage(body);
      return parsed.ok ? parsed.notifications.map((n) => n.result) : [{ kind: 'invalid', reason: parsed.reason }];
    }
    return parseSalesforceJson(json(body), { clientId: config.salesforce.clientId });
  },
};

/** Only the results that concern the quarantined event (a batch body holds others, already accepted). */
export function reparseQuarantined(entry: QuarantineEntry, config: Config): ParseResult[] {
  let results: ParseResult[];
  try {
    // Bounded again: an event quarantined for a time in the future is applied once that time has come.
    results = boundEventTimes(REPARSERS[entry.source](entry.body, config, entry), config.webhooks, Date.now());
  } catch (err) {
    return [{ kind: 'invalid', reason: `body no longer parses: ${(err as Error).message}` }];
  }
  if (entry.eventId === null) return results;
  const mine = results.filter((r) =>
    r.kind === 'events'
      ? r.events.some((e) => e.eventId === entry.eventId || e.eventId.startsWith(`${entry.eventId}-`))
      : r.eventId === entry.eventId,
  );
  // The body parses, but to other ids than the quarantined one: keep the entry rather than drop it as "nothing to apply".
  if (mine.length === 0 && results.some((r) => r.kind !== 'ignored'))
    return [{ kind: 'invalid', reason: `the body no longer yields event ${entry.eventId}; kept for inspection` }];
  return mine;
}
