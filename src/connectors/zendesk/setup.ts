/**
 * Provisioning of what the Zendesk target writes to: the billing fields, as
 * organization fields AND user fields (a customer without an organization
 * gets them on its user), and the invoice custom object with its fields.
 * Names come from `targets.zendesk`; types are what target-format writes.
 *
 * Idempotent by key: what exists is listed and left alone (a type that
 * differs is reported, never changed: changing a field's type in Zendesk
 * means deleting it and its values), only what is missing is created.
 */
import { z } from 'zod';
import type { TargetsConfig } from '../../config.js';
import { classifyZendeskError, zendeskRequest, zendeskResult, type ZendeskClient } from './client.js';

type ZendeskTargetConfig = TargetsConfig['zendesk'];
export type ZendeskSetupKind = 'organization field' | 'user field' | 'custom object' | 'custom object field';

export interface ZendeskFieldSpec {
  key: string;
  type: 'text' | 'decimal' | 'date' | 'checkbox' | 'integer' | 'lookup';
  title: string;
  /** Lookup fields only: what the id points at. */
  relationship_target_type?: 'zen:organization' | 'zen:user';
}

export interface ZendeskSetupStep {
  kind: ZendeskSetupKind;
  key: string;
  /** Expected field type; absent for the custom object itself. */
  type?: string;
  /** `exists`: found (with the type it has); `missing`: to create; `created`: created by this run. */
  state: 'exists' | 'missing' | 'created';
  /** Set when an existing field has another type than the one the target writes. */
  actualType?: string;
}

type ProfileKey = keyof ZendeskTargetConfig['fields'];
type InvoiceKey = keyof ZendeskTargetConfig['invoiceObject']['fields'];

// Types follow target-format: money as decimal in major units, days as date, counts as integer.
const PROFILE_FIELDS: Record<ProfileKey, Pick<ZendeskFieldSpec, 'type' | 'title'>> = {
  status: { type: 'text', title: 'Billing status' },
  plan: { type: 'text', title: 'Billing plan' },
  mrr: { type: 'decimal', title: 'MRR' },
  balance: { type: 'decimal', title: 'Account balance' },
  nextInvoiceDate: { type: 'date', title: 'Next invoice date' },
  delinquent: { type: 'checkbox', title: 'Payment overdue' },
  openInvoices: { type: 'integer', title: 'Open invoices' },
};

const INVOICE_FIELDS: Record<InvoiceKey, Omit<ZendeskFieldSpec, 'key'>> = {
  number: { type: 'text', title: 'Invoice number' },
  status: { type: 'text', title: 'Status' },
  total: { type: 'decimal', title: 'Total' },
  amountDue: { type: 'decimal', title: 'Amount due' },
  amountPaid: { type: 'decimal', title: 'Amount paid' },
  currency: { type: 'text', title: 'Currency' },
  dueDate: { type: 'date', title: 'Due date' },
  hostedUrl: { type: 'text', title: 'Invoice page' },
  pdfUrl: { type: 'text', title: 'Invoice PDF' },
  // The target writes the organization or user id here; a lookup makes the record show on that profile.
  organization: { type: 'lookup', title: 'Organization', relationship_target_type: 'zen:organization' },
  user: { type: 'lookup', title: 'User', relationship_target_type: 'zen:user' },
};

const specs = <K extends string>(keys: Record<K, string>, defs: Record<K, Omit<ZendeskFieldSpec, 'key'>>): ZendeskFieldSpec[] =>
  (Object.keys(defs) as K[]).map((k) => ({ key: keys[k], ...defs[k] }));

/** What the target needs, from config: pure. */
export function zendeskSchema(cfg: ZendeskTargetConfig) {
  return {
    profileFields: specs(cfg.fields, PROFILE_FIELDS),
    invoiceObject: { key: cfg.invoiceObject.key, title: 'Portal invoice', title_pluralized: 'Portal invoices' },
    invoiceFields: specs(cfg.invoiceObject.fields, INVOICE_FIELDS),
  };
}

const FieldList = z.array(z.looseObject({ key: z.string(), type: z.string() }));
const CustomObjects = z.looseObject({ custom_objects: z.array(z.looseObject({ key: z.string() })) });
const CustomObjectFields = z.looseObject({ custom_object_fields: FieldList });

function parsed<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new Error(`Zendesk answered ${what} in an unexpected shape`);
  return r.data;
}

function compare(kind: ZendeskSetupKind, wanted: readonly ZendeskFieldSpec[], existing: readonly { key: string; type: string }[]): ZendeskSetupStep[] {
  const byKey = new Map(existing.map((f) => [f.key, f.type]));
  return wanted.map((f) => {
    const actual = byKey.get(f.key);
    if (actual === undefined) return { kind, key: f.key, type: f.type, state: 'missing' };
    return { kind, key: f.key, type: f.type, state: 'exists', ...(actual !== f.type && { actualType: actual }) };
  });
}

/** Lists what exists and what is missing; changes nothing. */
export async function planZendeskSetup(client: ZendeskClient, cfg: ZendeskTargetConfig): Promise<ZendeskSetupStep[]> {
  const schema = zendeskSchema(cfg);
  // getAll answers the (paged, unwrapped) array itself, or a failed call's { response, result }.
  const list = async (call: Promise<unknown>, what: string) => {
    const body = await call;
    // A 429 (Retry-After) does not throw in node-zendesk 6: getAll puts the Error in the array.
    const failure = Array.isArray(body) ? body.find((x): x is Error => x instanceof Error) : undefined;
    if (failure) throw new Error(classifyZendeskError(failure).message);
    return parsed(FieldList, Array.isArray(body) ? body : zendeskResult(body as { response: unknown; result: unknown }), what);
  };
  const orgFields = await list(client.organizationfields.list(), 'organization fields');
  const userFields = await list(client.userfields.list(), 'user fields');
  const objects = parsed(CustomObjects, await zendeskRequest(client, 'GET', ['custom_objects']), 'custom objects').custom_objects;
  const objectKey = schema.invoiceObject.key;
  const objectExists = objects.some((o) => o.key === objectKey);
  const objectFields = objectExists
    ? parsed(CustomObjectFields, await zendeskRequest(client, 'GET', ['custom_objects', objectKey, 'fields']), 'custom object fields').custom_object_fields
    : [];
  return [
    ...compare('organization field', schema.profileFields, orgFields),
    ...compare('user field', schema.profileFields, userFields),
    { kind: 'custom object', key: objectKey, state: objectExists ? 'exists' : 'missing' },
    ...compare('custom object field', schema.invoiceFields, objectFields),
  ];
}

/** Creates every missing step, in order (the object before its fields); returns the steps with what was created. */
export async function applyZendeskSetup(client: ZendeskClient, cfg: ZendeskTargetConfig, steps: readonly ZendeskSetupStep[]): Promise<ZendeskSetupStep[]> {
  const schema = zendeskSchema(cfg);
  const spec = (list: ZendeskFieldSpec[], key: string) => {
    const found = list.find((f) => f.key === key);
    if (!found) throw new Error(`no field ${key} in the Zendesk setup`);
    return found;
  };
  const done: ZendeskSetupStep[] = [];
  for (const step of steps) {
    if (step.state !== 'missing') {
      done.push(step);
      continue;
    }
    switch (step.kind) {
      case 'organization field':
        zendeskResult(await client.organizationfields.create({ organization_field: spec(schema.profileFields, step.key) }));
        break;
      case 'user field':
        zendeskResult(await client.userfields.create({ user_field: spec(schema.profileFields, step.key) }));
        break;
      case 'custom object':
        await zendeskRequest(client, 'POST', ['custom_objects'], { custom_object: schema.invoiceObject });
        break;
      case 'custom object field':
        await zendeskRequest(client, 'POST', ['custom_objects', schema.invoiceObject.key, 'fields'], {
          custom_object_field: spec(schema.invoiceFields, step.key),
        });
        break;
    }
    done.push({ ...step, state: 'created' });
  }
  return done;
}
