/**
 * The Zendesk stand-in's record-level permissions for custom objects (rolled out October 2025):
 * access rules (`/custom_objects/{key}/access_rules`) and permission policies
 * (`/custom_objects/{key}/permission_policies/{id}`, id `end-user` or `custom-role-{id}`), and
 * what an end user signed in to the help center may list through their session.
 *
 * Shapes follow developer.zendesk.com/api-reference/custom-data/custom-objects/custom_object_permissions:
 * a rule is `{title, description, conditions: {all: [], any: []}}` of `{field, operator, value}`;
 * a policy is `{records: {create|read|update|delete: {allowed, rule_id}}}`; any write allowed needs
 * read allowed, and a write with full access (no rule) needs full read. Unverified there, and
 * chosen here: the field of a condition is named `custom_object_fields.<key>`, and a lookup
 * condition `matches` with value `current_user` holds when the lookup is the signed-in user
 * (user lookups) or that user's organization (organization lookups).
 */

type AccessOperator =
  | 'is'
  | 'is_not'
  | 'present'
  | 'matches'
  | 'includes'
  | 'not_includes'
  | 'greater_than'
  | 'less_than'
  | 'greater_than_equal'
  | 'less_than_equal';

interface AccessCondition {
  field: string;
  operator: AccessOperator;
  value: unknown;
}

export interface AccessRule {
  id: number;
  title: string;
  description: string;
  conditions: { all: AccessCondition[]; any: AccessCondition[] };
  created_at: string;
  updated_at: string;
}

type PolicyAction = 'create' | 'read' | 'update' | 'delete';
export interface PermissionPolicy {
  id: string;
  records: Record<PolicyAction, { allowed: boolean; rule_id: number | null }>;
}

/** What a condition may name: the object's fields, with their types. */
export interface AccessField {
  key: string;
  type: string;
  relationship_target_type?: string;
}

export interface EndUser {
  id: number;
  organization_id: number | null;
}

const ACTIONS: PolicyAction[] = ['create', 'read', 'update', 'delete'];
const MAX_RULES_PER_OBJECT = 50;
const OPERATORS_BY_TYPE: Record<string, AccessOperator[]> = {
  text: ['is', 'is_not', 'present'],
  textarea: ['is', 'is_not', 'present'],
  regexp: ['is', 'is_not', 'present'],
  dropdown: ['is', 'is_not', 'present'],
  checkbox: ['is', 'is_not', 'present'],
  multiselect: ['includes', 'not_includes', 'present'],
  lookup: ['is', 'is_not', 'matches', 'present'],
  date: ['is', 'is_not', 'greater_than', 'less_than', 'greater_than_equal', 'less_than_equal', 'present'],
  integer: ['is', 'is_not', 'greater_than', 'less_than', 'greater_than_equal', 'less_than_equal', 'present'],
  decimal: ['is', 'is_not', 'greater_than', 'less_than', 'greater_than_equal', 'less_than_equal', 'present'],
};
const CURRENT_USER = 'current_user';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validation problems, `{field: description}`; empty when the input is acceptable. */
export type Problems = Record<string, string>;

/** An access rule from a request body, or the problems that make Zendesk answer 422. */
export function parseAccessRule(
  input: unknown,
  fields: readonly AccessField[],
  existing: number,
): { rule?: Omit<AccessRule, 'id' | 'created_at' | 'updated_at'>; problems: Problems } {
  const r = isRecord(input) ? input : {};
  const problems: Problems = {};
  const title = typeof r.title === 'string' ? r.title.trim() : '';
  if (!title) problems.title = 'Title: cannot be blank';
  if (existing >= MAX_RULES_PER_OBJECT)
    problems.base = `An object can have at most ${MAX_RULES_PER_OBJECT} access rules`;
  const conditions = isRecord(r.conditions) ? r.conditions : {};
  const list = (name: 'all' | 'any'): AccessCondition[] => {
    const raw = conditions[name] ?? [];
    if (!Array.isArray(raw)) {
      problems[`conditions.${name}`] = 'must be an array';
      return [];
    }
    return raw.map((c, i) => {
      const cond = isRecord(c) ? c : {};
      const at = `conditions.${name}[${i}]`;
      const fieldName = typeof cond.field === 'string' ? cond.field : '';
      const key = fieldName.startsWith('custom_object_fields.')
        ? fieldName.slice('custom_object_fields.'.length)
        : undefined;
      const field = fields.find((f) => f.key === key);
      const operator = String(cond.operator ?? '') as AccessOperator;
      if (!field) problems[`${at}.field`] = `Field ${fieldName || 'blank'} is not a field of this object`;
      else if (!(OPERATORS_BY_TYPE[field.type] ?? []).includes(operator))
        problems[`${at}.operator`] = `Operator ${operator || 'blank'} is not valid for a ${field.type} field`;
      else if (operator === 'matches' && cond.value !== CURRENT_USER)
        problems[`${at}.value`] = `matches compares with ${CURRENT_USER}`;
      return { field: fieldName, operator, value: cond.value ?? null };
    });
  };
  const all = list('all');
  const any = list('any');
  if (all.length + any.length === 0) problems.conditions = 'at least one condition is required';
  if (Object.keys(problems).length > 0) return { problems };
  return {
    rule: { title, description: typeof r.description === 'string' ? r.description : '', conditions: { all, any } },
    problems,
  };
}

/** The policy every role starts with: nothing allowed (end users see no record by default). */
export const closedPolicy = (id: string): PermissionPolicy => ({
  id,
  records: {
    create: { allowed: false, rule_id: null },
    read: { allowed: false, rule_id: null },
    update: { allowed: false, rule_id: null },
    delete: { allowed: false, rule_id: null },
  },
});

export const isPolicyId = (id: string): boolean => id === 'end-user' || /^custom-role-[1-9]\d*$/.test(id);

/** A PATCH of a policy applied to `current`, or the problems that make Zendesk answer 422. */
export function patchPolicy(
  current: PermissionPolicy,
  input: unknown,
  ruleIds: ReadonlySet<number>,
): { policy?: PermissionPolicy; problems: Problems } {
  const p = isRecord(input) && isRecord(input.policy) ? input.policy : {};
  const records = isRecord(p.records) ? p.records : {};
  const next: PermissionPolicy = structuredClone(current);
  const problems: Problems = {};
  for (const action of ACTIONS) {
    const given = records[action];
    if (given === undefined) continue;
    if (!isRecord(given)) {
      problems[`records.${action}`] = 'must be an object';
      continue;
    }
    if ('allowed' in given) {
      if (typeof given.allowed !== 'boolean') problems[`records.${action}.allowed`] = 'must be true or false';
      else next.records[action].allowed = given.allowed;
    }
    if ('rule_id' in given) {
      const id = given.rule_id;
      if (id === null) next.records[action].rule_id = null;
      else if (typeof id !== 'number' || !ruleIds.has(id))
        problems[`records.${action}.rule_id`] = `Access rule ${String(id)} does not exist for this object`;
      else next.records[action].rule_id = id;
    }
  }
  const read = next.records.read;
  for (const action of ['create', 'update', 'delete'] as const) {
    const write = next.records[action];
    if (!write.allowed) continue;
    if (!read.allowed) problems[`records.${action}`] = `${action} needs read to be allowed`;
    else if (write.rule_id === null && read.rule_id !== null)
      problems[`records.${action}`] = `${action} with full access needs full read access`;
  }
  return Object.keys(problems).length > 0 ? { problems } : { policy: next, problems };
}

function holds(
  cond: AccessCondition,
  values: Record<string, unknown>,
  fields: readonly AccessField[],
  user: EndUser,
): boolean {
  const key = cond.field.slice('custom_object_fields.'.length);
  const field = fields.find((f) => f.key === key);
  const value = values[key];
  const present = value !== null && value !== undefined && value !== '';
  switch (cond.operator) {
    case 'present':
      return present;
    case 'matches': {
      if (!present || !field) return false;
      if (field.relationship_target_type === 'zen:user') return String(value) === String(user.id);
      if (field.relationship_target_type === 'zen:organization')
        return user.organization_id !== null && String(value) === String(user.organization_id);
      return false;
    }
    case 'is':
      return present && String(value) === String(cond.value);
    case 'is_not':
      return !present || String(value) !== String(cond.value);
    default:
      return false; // comparisons the stand-in does not need are never granted
  }
}

/** Whether `user` may read a record whose field values are `values`, under the end-user policy. */
export function endUserMayRead(
  policy: PermissionPolicy,
  rules: readonly AccessRule[],
  fields: readonly AccessField[],
  values: Record<string, unknown>,
  user: EndUser,
): boolean {
  const read = policy.records.read;
  if (!read.allowed) return false;
  if (read.rule_id === null) return true;
  const rule = rules.find((r) => r.id === read.rule_id);
  if (!rule) return false;
  const { all, any } = rule.conditions;
  return (
    all.every((c) => holds(c, values, fields, user)) &&
    (any.length === 0 || any.some((c) => holds(c, values, fields, user)))
  );
}
