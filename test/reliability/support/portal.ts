/** What the portal shows, per platform stand-in, comparable across runs (platform-made ids and times left out). */
import type { SalesforceStandIn } from '../../../src/demo/standins/salesforce/index.js';
import type { ZendeskStandIn } from '../../../src/demo/standins/zendesk/index.js';

export function zendeskPortal(zd: ZendeskStandIn) {
  const organizations = [...zd.state.organizations.values()]
    .map((o) => ({ id: o.id, fields: o.organization_fields }))
    .sort((a, b) => a.id - b.id);
  const users = [...zd.state.users.values()]
    .map((u) => ({ id: u.id, fields: u.user_fields }))
    .sort((a, b) => a.id - b.id);
  const invoices = [...(zd.state.customObjectRecords.get('portal_invoice')?.values() ?? [])]
    .map((r) => ({ externalId: r.external_id, name: r.name, fields: r.custom_object_fields }))
    .sort((a, b) => String(a.externalId).localeCompare(String(b.externalId)));
  return { organizations, users, invoices };
}

/** Invoice records beyond one per external id (a create where an upsert was due). */
export function zendeskDuplicates(zd: ZendeskStandIn): number {
  const records = [...(zd.state.customObjectRecords.get('portal_invoice')?.values() ?? [])];
  const byNumber = new Map<string, number>();
  for (const r of records) {
    const key = r.external_id ?? `no-external-id:${r.id}`;
    byNumber.set(key, (byNumber.get(key) ?? 0) + 1);
  }
  const withoutExternalId = records.filter((r) => r.external_id === null).length;
  return withoutExternalId + [...byNumber.values()].reduce((n, c) => n + c - 1, 0);
}

const SYSTEM = new Set([
  'Id',
  'OwnerId',
  'CreatedDate',
  'CreatedById',
  'LastModifiedDate',
  'LastModifiedById',
  'SystemModstamp',
  'IsDeleted',
  'Name',
]);

export function salesforcePortal(sf: SalesforceStandIn, objects: readonly string[]) {
  const out: Record<string, unknown[]> = {};
  for (const object of ['Account', ...objects]) {
    const rows = [...(sf.state.sobjects.get(object)?.values() ?? [])].map((r) =>
      Object.fromEntries(
        Object.entries(r).filter(
          ([k, v]) =>
            (object === 'Account' ? k === 'Id' || !SYSTEM.has(k) : !SYSTEM.has(k)) && v !== null && v !== false,
        ),
      ),
    );
    out[object] = rows.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();
  }
  return out;
}

/** Records of `object` beyond one per external id value. */
export function salesforceDuplicates(sf: SalesforceStandIn, object: string, externalId: string): number {
  const seen = new Map<unknown, number>();
  for (const r of sf.state.sobjects.get(object)?.values() ?? [])
    seen.set(r[externalId], (seen.get(r[externalId]) ?? 0) + 1);
  return [...seen.entries()].reduce((n, [k, c]) => n + (k === null || k === undefined ? c : c - 1), 0);
}
