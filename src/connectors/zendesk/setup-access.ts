/**
 * `setup zendesk --end-user-access`: for help centers without help center JWTs, the signed-in
 * customer reads their own invoices and billing status straight from Zendesk custom objects.
 * Organization and user fields are agent-only, so the status goes into one record per
 * organization (per user without one) of `targets.zendesk.statusObject`; both objects get an
 * access rule "the record's organization or user matches the current user" and an end-user
 * permission policy: read through that rule, no create, update or delete.
 *
 * API (developer.zendesk.com custom_object_permissions, record-level permissions rolled out in
 * October 2025): `GET|POST /custom_objects/{key}/access_rules` `{access_rule: {title,
 * description, conditions: {all, any}}}`, `GET|PATCH /custom_objects/{key}/permission_policies/end-user`
 * `{policy: {records: {create|read|update|delete: {allowed, rule_id}}}}`. NOT verified in the
 * docs: the field name form `custom_object_fields.<key>` in a condition and the value
 * `current_user` of the lookup operator `matches` (the admin UI shows it as "(current user)").
 * The dry run prints the rule, so an admin can compare it with Admin Center before applying.
 */
import { z } from 'zod';
import type { TargetsConfig } from '../../config.js';
import { zendeskRequest, type ZendeskClient } from './client.js';

/** A field (or custom object field) setup provisions: its key, type and title as Zendesk's API takes them. */
export interface ZendeskFieldSpec {
  key: string;
  type: 'text' | 'decimal' | 'date' | 'checkbox' | 'integer' | 'lookup';
  title: string;
  /** Lookup fields only: what the id points at. */
  relationship_target_type?: 'zen:organization' | 'zen:user';
}

type ZendeskTargetConfig = TargetsConfig['zendesk'];

export const OWN_RECORDS_RULE_TITLE = "portal-sync: the signed-in customer's own records";

/** The status object's fields: the customer-facing billing values (never MRR or balance) and the owner lookups. */
export function statusObjectSchema(cfg: ZendeskTargetConfig) {
  const f = cfg.fields;
  const fields: ZendeskFieldSpec[] = [
    { key: f.status, type: 'text', title: 'Billing status' },
    { key: f.plan, type: 'text', title: 'Billing plan' },
    { key: f.nextInvoiceDate, type: 'date', title: 'Next invoice date' },
    { key: f.delinquent, type: 'checkbox', title: 'Payment overdue' },
    { key: f.openInvoices, type: 'integer', title: 'Open invoices' },
    {
      key: cfg.statusObject.fields.organization,
      type: 'lookup',
      title: 'Organization',
      relationship_target_type: 'zen:organization',
    },
    { key: cfg.statusObject.fields.user, type: 'lookup', title: 'User', relationship_target_type: 'zen:user' },
  ];
  return {
    object: { key: cfg.statusObject.key, title: 'Portal account status', title_pluralized: 'Portal account statuses' },
    fields,
  };
}

/** The access rule: a record is the signed-in end user's when its organization lookup or its user lookup matches them. */
export function ownRecordsRule(lookups: { organization: string; user: string }) {
  return {
    title: OWN_RECORDS_RULE_TITLE,
    description:
      'Written by portal-sync setup zendesk --end-user-access: end users read only the records of their organization, or their own.',
    conditions: {
      all: [],
      any: [
        { field: `custom_object_fields.${lookups.organization}`, operator: 'matches', value: 'current_user' },
        { field: `custom_object_fields.${lookups.user}`, operator: 'matches', value: 'current_user' },
      ],
    },
  };
}

/** The objects end users read, with the lookups their rule compares. */
export function endUserObjects(
  cfg: ZendeskTargetConfig,
): { key: string; lookups: { organization: string; user: string } }[] {
  return [
    {
      key: cfg.invoiceObject.key,
      lookups: { organization: cfg.invoiceObject.fields.organization, user: cfg.invoiceObject.fields.user },
    },
    { key: cfg.statusObject.key, lookups: cfg.statusObject.fields },
  ];
}

const Rules = z.looseObject({ access_rules: z.array(z.looseObject({ id: z.number(), title: z.string() })) });
const Grant = z.looseObject({ allowed: z.boolean(), rule_id: z.number().nullable().optional() });
const Policy = z.looseObject({
  policy: z.looseObject({ records: z.looseObject({ create: Grant, read: Grant, update: Grant, delete: Grant }) }),
});

function parsed<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new Error(`Zendesk answered ${what} in an unexpected shape`);
  return r.data;
}

export async function findOwnRecordsRule(client: ZendeskClient, key: string): Promise<number | undefined> {
  const rules = parsed(
    Rules,
    await zendeskRequest(client, 'GET', ['custom_objects', key, 'access_rules']),
    'access rules',
  ).access_rules;
  return rules.find((r) => r.title === OWN_RECORDS_RULE_TITLE)?.id;
}

/** What the end-user policy allows now, in words; undefined when it is exactly "read own records only". */
export async function endUserPolicyGap(
  client: ZendeskClient,
  key: string,
  ruleId: number | undefined,
): Promise<string | undefined> {
  const { records } = parsed(
    Policy,
    await zendeskRequest(client, 'GET', ['custom_objects', key, 'permission_policies', 'end-user']),
    'the end-user policy',
  ).policy;
  const writes = (['create', 'update', 'delete'] as const).filter((a) => records[a].allowed);
  if (records.read.allowed && (records.read.rule_id ?? null) === null) return 'end users can read EVERY record now';
  if (!records.read.allowed) return 'end users cannot read records now';
  if (ruleId === undefined || records.read.rule_id !== ruleId) return 'end users read through another access rule now';
  if (writes.length > 0) return `end users can also ${writes.join(', ')} records now`;
  return undefined;
}

export async function createOwnRecordsRule(
  client: ZendeskClient,
  object: ReturnType<typeof endUserObjects>[number],
): Promise<number> {
  const body = await zendeskRequest(client, 'POST', ['custom_objects', object.key, 'access_rules'], {
    access_rule: ownRecordsRule(object.lookups),
  });
  return parsed(z.looseObject({ access_rule: z.looseObject({ id: z.number() }) }), body, 'the new access rule')
    .access_rule.id;
}

/** Read through the rule; create, update and delete closed: the records are portal-sync's to write. */
export async function grantEndUserRead(client: ZendeskClient, key: string, ruleId: number): Promise<void> {
  const closed = { allowed: false, rule_id: null };
  await zendeskRequest(client, 'PATCH', ['custom_objects', key, 'permission_policies', 'end-user'], {
    policy: { records: { read: { allowed: true, rule_id: ruleId }, create: closed, update: closed, delete: closed } },
  });
}
