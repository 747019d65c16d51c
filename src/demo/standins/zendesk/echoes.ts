/** The Zendesk stand-in's echo webhooks: what a request changed on organizations and users, one signed event per changed attribute, sent after its response, one at a time. */
import { randomUUID } from 'node:crypto';
import { signZendeskPayload } from '../../../connectors/zendesk/signature.js';
import { ECHO_EVENTS, customField, organizationDetail, same, tagChange, userDetail, type Json } from './render.js';
import type { ZendeskStore } from './store.js';
import type { ZendeskOrganization, ZendeskStandInOptions, ZendeskUser, ZendeskWebhookDelivery } from './types.js';

export interface Echo {
  type: string;
  subject: string;
  detail: Json;
  event: Json;
}

type Hook = NonNullable<ZendeskStandInOptions['webhook']>;

export class ZendeskEchoes {
  readonly deliveries: ZendeskWebhookDelivery[] = [];
  /** The echoes of the request being handled (handlers are synchronous); seeding has no sink, so it never echoes. */
  sink: Echo[] | undefined;
  private readonly subscriptions: Set<string>;
  private readonly abort = new AbortController();
  private deliveryChain: Promise<void> = Promise.resolve();
  private invocation = 0;

  constructor(
    private readonly hook: Hook | undefined,
    private readonly accountId: number,
    private readonly store: ZendeskStore,
  ) {
    this.subscriptions = new Set<string>(hook?.subscriptions ?? ECHO_EVENTS);
  }

  private stage(type: string, subject: string, detail: Json, event: Json): void {
    if (this.hook && this.subscriptions.has(type)) this.sink?.push({ type, subject, detail, event });
  }

  private async deliver(hook: Hook, item: Echo): Promise<void> {
    const id = randomUUID();
    const timestamp = this.store.stamp();
    const body = JSON.stringify({
      type: `zen:event-type:${item.type}`,
      account_id: this.accountId,
      id,
      time: timestamp,
      zendesk_event_version: '2022-06-20',
      subject: item.subject,
      detail: item.detail,
      event: item.event,
    });
    const record: ZendeskWebhookDelivery = { id, type: `zen:event-type:${item.type}`, subject: item.subject, body };
    this.deliveries.push(record);
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        body,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(12_000)]),
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Zendesk Webhook',
          'x-zendesk-account-id': String(this.accountId),
          'x-zendesk-webhook-id': hook.webhookId ?? '01STANDINWEBHOOK0000000000',
          'x-zendesk-webhook-invocation-id': String(9000000000 + ++this.invocation),
          'x-zendesk-webhook-signature-timestamp': timestamp,
          'x-zendesk-webhook-signature': signZendeskPayload(body, hook.secret, timestamp),
        },
      });
      record.status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
  }

  /** Sends what a request changed, after its response went out, one delivery at a time. */
  release(batch: Echo[]): void {
    const hook = this.hook;
    if (!hook) return;
    for (const item of batch) this.deliveryChain = this.deliveryChain.then(() => this.deliver(hook, item));
  }

  /** One event per attribute that changed, as Zendesk sends them; nothing when nothing changed. */
  organization = (before: ZendeskOrganization | null, after: ZendeskOrganization): void => {
    const subject = `zen:organization:${after.id}`;
    const detail = organizationDetail(after);
    if (!before) return this.stage('organization.created', subject, detail, {});
    if (before.name !== after.name)
      this.stage('organization.name_changed', subject, detail, { current: after.name, previous: before.name });
    if (before.external_id !== after.external_id) {
      this.stage('organization.external_id_changed', subject, detail, {
        current: after.external_id,
        previous: before.external_id,
      });
    }
    if (!same(before.tags, after.tags))
      this.stage('organization.tags_changed', subject, detail, tagChange(before.tags, after.tags));
    for (const key of new Set([
      ...Object.keys(before.organization_fields),
      ...Object.keys(after.organization_fields),
    ])) {
      const previous = before.organization_fields[key] ?? null;
      const current = after.organization_fields[key] ?? null;
      if (same(previous, current)) continue;
      this.stage('organization.custom_field_changed', subject, detail, {
        current,
        previous,
        custom_field: customField(this.store.state.organizationFields, key),
      });
    }
  };

  user = (before: ZendeskUser | null, after: ZendeskUser): void => {
    const subject = `zen:user:${after.id}`;
    const detail = userDetail(after);
    if (!before) return this.stage('user.created', subject, detail, {});
    if (before.name !== after.name)
      this.stage('user.name_changed', subject, detail, { current: after.name, previous: before.name });
    if (before.external_id !== after.external_id)
      this.stage('user.external_id_changed', subject, detail, {
        current: after.external_id,
        previous: before.external_id,
      });
    if (before.role !== after.role)
      this.stage('user.role_changed', subject, detail, { current: after.role, previous: before.role });
    if (!same(before.tags, after.tags))
      this.stage('user.tags_changed', subject, detail, tagChange(before.tags, after.tags));
    for (const key of new Set([...Object.keys(before.user_fields), ...Object.keys(after.user_fields)])) {
      const previous = before.user_fields[key] ?? null;
      const current = after.user_fields[key] ?? null;
      if (same(previous, current)) continue;
      this.stage('user.custom_field_changed', subject, detail, {
        current,
        previous,
        custom_field: customField(this.store.state.userFields, key),
      });
    }
  };

  async flush(): Promise<void> {
    // Echoes are queued when a response finishes; let those events fire, then wait until the chain is still.
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const chain = this.deliveryChain;
      await chain;
      if (chain === this.deliveryChain) return;
    }
  }

  stop(): void {
    this.abort.abort();
  }

  async settled(): Promise<void> {
    await this.deliveryChain;
  }
}
