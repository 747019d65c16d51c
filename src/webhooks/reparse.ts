/**
 * Parse a quarantined body again with today's parsers — what `dlq replay`
 * does after a parser fix. The body was verified when it arrived; it is not
 * verified again (signatures expire, and the stored bytes are ours).
 */
import type { Config } from '../config.js';
import { parsePortalEvents } from '../connectors/portal/events.js';
import { parseSalesforceJson } from '../connectors/salesforce/cdc.js';
import { parseOutboundMessage } from '../connectors/salesforce/outbound.js';
import { parseStripeEvent } from '../connectors/stripe/events.js';
import { parseZendeskWebhook } from '../connectors/zendesk/events.js';
import type { QuarantineEntry } from '../sync/ingest.js';
import type { ParseResult, Source } from '../sync/source-event.js';

type Reparser = (body: string, config: Config) => ParseResult[];

const json = (body: string): unknown => JSON.parse(body);

const REPARSERS: Record<Source, Reparser> = {
  stripe: (body, config) => [parseStripeEvent(json(body), config.identity.stripeMetadataKeys)],
  zendesk: (body) => [parseZendeskWebhook(json(body), {})],
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
    results = REPARSERS[entry.source](entry.body, config);
  } catch (err) {
    return [{ kind: 'invalid', reason: `body no longer parses: ${(err as Error).message}` }];
  }
  if (entry.eventId === null) return results;
  return results.filter((r) => (r.kind === 'events' ? r.events.some((e) => e.eventId === entry.eventId || e.eventId.startsWith(`${entry.eventId}-`)) : r.eventId === entry.eventId));
}
