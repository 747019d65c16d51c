/**
 * The people and systems of the scripted day, acting on the stand-ins the way they would act
 * on the real platforms: an admin creating a Zendesk organization through its API (Zendesk
 * then sends its event webhooks by itself), an agent solving a ticket, a sales rep editing an
 * Account (Salesforce sends the Outbound Message), the portal's server posting signed activity.
 *
 * The Zendesk stand-in echoes organization and user changes but not tickets, so ticket events
 * are rendered here from the stand-in's ticket, in the shape Zendesk's ticket events have, and
 * signed with the webhook's secret.
 */
import { randomUUID } from 'node:crypto';
import { signZendeskPayload } from '../connectors/zendesk/signature.js';
import type { ZendeskOrganization, ZendeskTicket, ZendeskUser } from './standins/zendesk/index.js';
import { signHmac } from '../webhooks/hmac.js';
import type { DemoEnvironment } from './environment.js';

/** Zendesk timestamps: ISO to the second. */
export const isoSeconds = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');

async function expectOk(res: Response, what: string): Promise<unknown> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 300)}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** Calls the Zendesk stand-in's REST API with the demo's API token, as an admin's script would. */
async function zendeskApi(
  env: DemoEnvironment,
  method: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const { email, apiToken, baseUrl } = env.config.zendesk;
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    body: JSON.stringify(body),
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${email}/token:${apiToken}`).toString('base64')}`,
    },
  });
  return (await expectOk(res, `Zendesk ${method} ${path}`)) as Record<string, unknown>;
}

export async function createZendeskOrganization(
  env: DemoEnvironment,
  input: { name: string; external_id: string },
): Promise<ZendeskOrganization> {
  const out = await zendeskApi(env, 'POST', '/organizations.json', { organization: input });
  return out['organization'] as ZendeskOrganization;
}

export async function createZendeskUser(
  env: DemoEnvironment,
  input: { name: string; email: string; organization_id: number },
): Promise<ZendeskUser> {
  const out = await zendeskApi(env, 'POST', '/users.json', { user: { ...input, role: 'end-user', verified: true } });
  return out['user'] as ZendeskUser;
}

export async function updateZendeskTicket(
  env: DemoEnvironment,
  id: number,
  ticket: Record<string, unknown>,
): Promise<ZendeskTicket> {
  const out = await zendeskApi(env, 'PUT', `/tickets/${id}.json`, { ticket });
  return out['ticket'] as ZendeskTicket;
}

const upper = (s: string | null) => (s === null ? null : s.toUpperCase());

/** A `zen:event-type:ticket.*` webhook for `ticket` as the stand-in holds it, signed and posted to the daemon. */
export async function sendTicketEvent(
  env: DemoEnvironment,
  type: 'created' | 'status_changed',
  ticket: ZendeskTicket,
  previousStatus?: string,
): Promise<void> {
  const detail = {
    actor_id: String(ticket.requester_id ?? ''),
    assignee_id: ticket.assignee_id === null ? null : String(ticket.assignee_id),
    brand_id: ticket.brand_id === null ? null : String(ticket.brand_id),
    created_at: ticket.created_at,
    description: ticket.description,
    external_id: ticket.external_id,
    form_id: ticket.ticket_form_id === null ? null : String(ticket.ticket_form_id),
    group_id: ticket.group_id === null ? null : String(ticket.group_id),
    id: String(ticket.id),
    is_public: ticket.is_public,
    organization_id: ticket.organization_id === null ? null : String(ticket.organization_id),
    priority: upper(ticket.priority),
    requester_id: ticket.requester_id === null ? null : String(ticket.requester_id),
    status: upper(ticket.status),
    subject: ticket.subject,
    submitter_id: ticket.submitter_id === null ? null : String(ticket.submitter_id),
    tags: ticket.tags,
    type: upper(ticket.type),
    updated_at: ticket.updated_at,
    via: ticket.via,
  };
  const sequence = { meta: { sequence: { id: randomUUID().replace(/-/g, ''), position: 1 } } };
  const body = JSON.stringify({
    type: `zen:event-type:ticket.${type}`,
    account_id: 10000001,
    id: randomUUID(),
    time: new Date().toISOString(),
    zendesk_event_version: '2022-11-06',
    subject: `zen:ticket:${ticket.id}`,
    detail,
    event:
      type === 'status_changed'
        ? { current: upper(ticket.status), previous: upper(previousStatus ?? null), ...sequence }
        : sequence,
  });
  const timestamp = isoSeconds(Date.now());
  const res = await fetch(`${env.daemonUrl}/webhooks/zendesk`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-zendesk-webhook-signature-timestamp': timestamp,
      'x-zendesk-webhook-signature': signZendeskPayload(body, env.secrets.zendeskWebhook, timestamp),
    },
  });
  await expectOk(res, 'POST /webhooks/zendesk');
}

export interface PortalActivity {
  id: string;
  type:
    | 'session_start'
    | 'search'
    | 'article_view'
    | 'invoice_view'
    | 'invoice_download'
    | 'ticket_status_view'
    | 'ticket_form_opened';
  occurred_at: string;
  contact: { email: string };
  query?: string;
  result_count?: number;
  invoice_id?: string;
  article_id?: string;
}

/** POST /events/portal, signed on "the portal's server" with the shared secret. */
export async function sendPortalActivity(
  env: DemoEnvironment,
  events: PortalActivity[],
): Promise<{ accepted: number }> {
  const body = JSON.stringify({ events });
  const res = await fetch(`${env.daemonUrl}/events/portal`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-portal-sync-signature': signHmac(body, env.secrets.portalEvents),
    },
  });
  return (await expectOk(res, 'POST /events/portal')) as { accepted: number };
}
