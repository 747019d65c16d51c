/** The Salesforce stand-in's Outbound Messages: a write to a watched object is POSTed as the SOAP notification Salesforce would send (at most 100 records a message), so echo-loop tests have a real echo. */
import { buildOutboundMessage } from '../../../connectors/salesforce/outbound-builder.js';
import { base62, toId18 } from './errors.js';
import type { SObjectDef } from './schema.js';
import type { SalesforceState } from './state.js';
import type { OutboundDelivery, SalesforceField, SalesforceRecord, SalesforceStandInOptions } from './types.js';

/** A stored value as the SOAP message renders it: datetimes in Z, doubles with their ".0". */
function soapValue(field: SalesforceField, value: unknown): string | null {
  if (value === null || value === undefined || typeof value === 'object') return null;
  if (field.type === 'datetime') return String(value).replace(/\+0000$/, 'Z');
  if (typeof value === 'number' && field.type !== 'int' && Number.isInteger(value)) return `${value}.0`;
  return String(value);
}

function outboundFields(
  def: SObjectDef,
  rec: SalesforceRecord,
  selected: string[] | undefined,
): Record<string, string | null> {
  const chosen = selected
    ? selected.map((n) => def.byName.get(n.toLowerCase())).filter((f) => f !== undefined)
    : def.fields;
  const fields: Record<string, string | null> = { Id: rec.Id };
  // Id first, then alphabetical, as Salesforce lays out the sObject; fields without a value are left out.
  for (const f of [...chosen].sort((a, b) => a.name.localeCompare(b.name))) {
    const text = soapValue(f, rec[f.name]);
    if (f.name !== 'Id' && f.type !== 'address' && text !== null) fields[f.name] = text;
  }
  return fields;
}

type Target = NonNullable<SalesforceStandInOptions['outbound']>;

function deliver(target: string, delivery: OutboundDelivery): Promise<void> {
  return fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
    body: delivery.xml,
    signal: AbortSignal.timeout(10_000),
  })
    .then(async (res) => {
      delivery.status = res.status;
      delivery.response = await res.text();
    })
    .catch((err: unknown) => {
      delivery.error = err instanceof Error ? err.message : String(err);
    });
}

export class SalesforceOutbound {
  readonly deliveries: OutboundDelivery[] = [];
  private readonly pending = new Set<Promise<void>>();
  private readonly echoed: Set<string>;
  private readonly actionId: string;

  constructor(
    private readonly target: Target | undefined,
    private readonly state: SalesforceState,
    private readonly apiVersion: string,
    /** The stand-in's origin, known once listening. */
    private readonly instanceUrl: () => string,
  ) {
    this.echoed = new Set((target?.sobjects ?? ['Account']).map((s) => s.toLowerCase()));
    this.actionId = toId18(`04k${state.orgId.slice(3, 5)}0${base62(0x2b7e15, 9)}`);
  }

  /** Queues the messages for these records of `def`, when the object is watched. */
  echo = (def: SObjectDef, ids: string[]): void => {
    const target = this.target;
    if (!target || !this.echoed.has(def.name.toLowerCase()) || ids.length === 0) return;
    // Each message carries the record as it is now; at most 100 notifications per message.
    for (let i = 0; i < ids.length; i += 100) {
      const recs = ids
        .slice(i, i + 100)
        .map((id) => this.state.table(def).get(id))
        .filter((r) => r !== undefined);
      const notifications = recs.map((rec) => ({
        id: this.state.newId('04l'),
        sObjectType: def.name,
        fields: outboundFields(def, rec, target.fields),
      }));
      const xml = buildOutboundMessage({
        organizationId: this.state.orgId,
        actionId: this.actionId,
        sessionId: null,
        instanceUrl: this.instanceUrl(),
        apiVersion: this.apiVersion,
        notifications,
      });
      const delivery: OutboundDelivery = {
        xml,
        notificationIds: notifications.map((n) => n.id),
        recordIds: recs.map((r) => r.Id),
      };
      this.deliveries.push(delivery);
      const done: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, target.delayMs ?? 0))
        .then(() => deliver(target.url, delivery))
        .finally(() => this.pending.delete(done));
      this.pending.add(done);
    }
  };

  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
