/**
 * Takes back what the Zendesk target wrote for a forgotten customer
 * (`identity forget --portal clear`): the billing organization fields (user
 * fields, for a customer without an organization) are set to null, and the
 * custom object records it upserted — invoices (external id = Stripe invoice
 * id) and the status record (`organization-<id>` / `user-<id>`) — are found
 * by external id (`GET /custom_objects/{key}/records?filter[external_ids]=`)
 * and deleted by id (`DELETE /custom_objects/{key}/records/{id}`); the
 * deflection events are deleted with portal-sync's own profiles they were
 * filed under (target-profiles.ts). The organization and user themselves, and every field and record portal-sync
 * does not write, are left alone. A 404 is "already gone", so a re-run is
 * safe; any other failure is reported per item and the rest goes on.
 */
import type { ClearResult, PortalClear } from '../../sync/push/portal-target.js';
import { classifyZendeskError, zendeskRequest, zendeskResult, type ZendeskClient } from './client.js';
import { clearDeflectionProfiles } from './target-profiles.js';
import { ownerOf, type FieldSet, type Owner, type ZendeskTargetConfig } from './target-format.js';
import { EMPTY_MAPPING, type MappingConfig } from '../../sync/mapping/schema.js';

/** Zendesk's page size for a list, and so the external ids asked for at once. */
const FILTER_MAX = 100;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The distinct places the target may have written to: each place's organization, else its first user. */
function clearOwners(c: PortalClear): Owner[] {
  const seen = new Map<string, Owner>();
  for (const place of c.places) {
    const owner = ownerOf(place);
    if (owner) seen.set(`${owner.kind}:${owner.id}`, owner);
  }
  return [...seen.values()];
}

/** Every billing field the target writes, as null: what clearing them sends. */
function nulledFields(cfg: ZendeskTargetConfig): FieldSet {
  return Object.fromEntries(Object.values(cfg.fields).map((key) => [key, null]));
}

export async function clearZendesk(
  client: ZendeskClient,
  cfg: ZendeskTargetConfig,
  c: PortalClear,
  mapping: MappingConfig = EMPTY_MAPPING,
): Promise<ClearResult> {
  const out: ClearResult = { calls: 0, cleared: [], absent: [], failed: [] };
  /** One call; a 404 files `label` under absent, another failure under failed with Zendesk's reason. */
  const attempt = async (label: string, call: () => Promise<unknown>): Promise<unknown> => {
    out.calls++;
    try {
      return await call();
    } catch (err) {
      const verdict = classifyZendeskError(err);
      if (verdict.status === 404) out.absent.push(label);
      else out.failed.push(`${label}: ${verdict.message}`);
      return undefined;
    }
  };

  const owners = clearOwners(c);
  for (const owner of owners) {
    const label = `${owner.kind}_fields:${owner.id}`;
    if (!/^[1-9]\d*$/.test(owner.id)) {
      out.failed.push(`${label}: not a Zendesk ${owner.kind} id`);
      continue;
    }
    const id = Number(owner.id);
    // The mapped fields too: what portal-sync wrote there is this customer's data as much as billing is.
    const mapped = owner.kind === 'organization' ? mapping.zendesk.organizationFields : mapping.zendesk.userFields;
    const fields = { ...Object.fromEntries(mapped.map((e) => [e.to, null])), ...nulledFields(cfg) };
    const done = await attempt(
      label,
      async () =>
        zendeskResult(
          owner.kind === 'organization'
            ? await client.organizations.update(id, { organization: { organization_fields: fields } })
            : await client.users.update(id, { user: { user_fields: fields } }),
        ) ?? true,
    );
    if (done !== undefined) out.cleared.push(label);
  }

  const deleteRecords = async (key: string, kind: string, externalIds: readonly string[]): Promise<void> => {
    for (let i = 0; i < externalIds.length; i += FILTER_MAX) {
      const wanted = externalIds.slice(i, i + FILTER_MAX);
      const page = await attempt(`${kind}:${wanted.join(',')}`, () =>
        zendeskRequest(client, 'GET', [
          'custom_objects',
          key,
          'records',
          { 'filter[external_ids]': wanted.join(','), 'page[size]': FILTER_MAX },
        ]),
      );
      if (page === undefined) continue; // a 404 (no such object: nothing was ever written there) or a reported failure
      const found = new Map<string, string>();
      const records =
        isRecord(page) && Array.isArray(page['custom_object_records']) ? page['custom_object_records'] : [];
      for (const r of records) {
        if (
          isRecord(r) &&
          typeof r['external_id'] === 'string' &&
          (typeof r['id'] === 'string' || typeof r['id'] === 'number')
        )
          found.set(r['external_id'], String(r['id']));
      }
      for (const externalId of wanted) {
        const label = `${kind}:${externalId}`;
        const id = found.get(externalId);
        // Only records carrying an external id portal-sync wrote are touched.
        if (id === undefined) {
          out.absent.push(label);
          continue;
        }
        const deleted = await attempt(
          label,
          async () => (await zendeskRequest(client, 'DELETE', ['custom_objects', key, 'records', id])) ?? true,
        );
        if (deleted !== undefined) out.cleared.push(label);
      }
    }
  };
  await deleteRecords(cfg.invoiceObject.key, 'invoice', [...new Set(c.invoiceIds)]);
  if (cfg.statusObject.enabled)
    await deleteRecords(
      cfg.statusObject.key,
      'status',
      owners.map((o) => `${o.kind}-${o.id}`),
    );
  await clearDeflectionProfiles(client, cfg, c, out);
  return out;
}
