/** The Salesforce stand-in's schema: standard objects and fields, custom ones made from a spec. */
import { type SalesforceField, type SalesforceFieldSpec, type SalesforceFieldType } from './types.js';

// ---------------------------------------------------------------------------------------------
// Schema: standard objects and fields, custom ones on demand
// ---------------------------------------------------------------------------------------------

export interface SObjectDef {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  custom: boolean;
  fields: SalesforceField[];
  byName: Map<string, SalesforceField>; // lower-case API name → field: Salesforce names are case-insensitive
}

const TEXT_LENGTH: Partial<Record<SalesforceFieldType, number>> = {
  id: 18,
  reference: 18,
  string: 255,
  textarea: 255,
  email: 80,
  phone: 40,
  url: 255,
  picklist: 255,
};

export function makeField(spec: SalesforceFieldSpec): SalesforceField {
  const type = spec.type ?? 'string';
  const custom = spec.name.endsWith('__c');
  const externalId = spec.externalId ?? false;
  const unique = spec.unique ?? externalId;
  return {
    name: spec.name,
    label: spec.label ?? spec.name.replace(/__c$/, '').replace(/_/g, ' '),
    type,
    length: spec.length ?? TEXT_LENGTH[type] ?? 0,
    custom,
    externalId,
    idLookup: spec.idLookup ?? (externalId || type === 'id'),
    unique,
    caseSensitive: spec.caseSensitive ?? !unique,
    nillable: spec.nillable ?? type !== 'boolean',
    createable: spec.createable ?? true,
    updateable: spec.updateable ?? true,
    defaultedOnCreate: spec.defaultedOnCreate ?? type === 'boolean',
    referenceTo: spec.referenceTo ?? [],
    relationshipName:
      spec.relationshipName ?? (type === 'reference' && custom ? spec.name.replace(/__c$/, '__r') : null),
  };
}

export type Def = [name: string, type: SalesforceFieldType, label: string, extra?: Partial<SalesforceField>];
const READ_ONLY = { createable: false, updateable: false };

export function systemFields(objectLabel: string): Def[] {
  const user = (relationshipName: string) => ({ referenceTo: ['User'], relationshipName });
  return [
    ['Id', 'id', `${objectLabel} ID`, { ...READ_ONLY, nillable: false, defaultedOnCreate: true }],
    ['IsDeleted', 'boolean', 'Deleted', READ_ONLY],
    ['OwnerId', 'reference', 'Owner ID', { ...user('Owner'), nillable: false, defaultedOnCreate: true }],
    ['CreatedDate', 'datetime', 'Created Date', { ...READ_ONLY, defaultedOnCreate: true }],
    ['CreatedById', 'reference', 'Created By ID', { ...READ_ONLY, ...user('CreatedBy'), defaultedOnCreate: true }],
    ['LastModifiedDate', 'datetime', 'Last Modified Date', { ...READ_ONLY, defaultedOnCreate: true }],
    [
      'LastModifiedById',
      'reference',
      'Last Modified By ID',
      { ...READ_ONLY, ...user('LastModifiedBy'), defaultedOnCreate: true },
    ],
    ['SystemModstamp', 'datetime', 'System Modstamp', { ...READ_ONLY, defaultedOnCreate: true }],
  ];
}

function addressFields(prefix: string): Def[] {
  return [
    [`${prefix}Street`, 'textarea', `${prefix} Street`],
    [`${prefix}City`, 'string', `${prefix} City`, { length: 40 }],
    [`${prefix}State`, 'string', `${prefix} State/Province`, { length: 80 }],
    [`${prefix}PostalCode`, 'string', `${prefix} Zip/Postal Code`, { length: 20 }],
    [`${prefix}Country`, 'string', `${prefix} Country`, { length: 80 }],
    [`${prefix}Address`, 'address', `${prefix} Address`, READ_ONLY],
  ];
}

export const STANDARD_OBJECTS: Array<{
  name: string;
  label: string;
  plural: string;
  keyPrefix: string;
  fields: Def[];
}> = [
  {
    name: 'Account',
    label: 'Account',
    plural: 'Accounts',
    keyPrefix: '001',
    fields: [
      ['Name', 'string', 'Account Name', { nillable: false, idLookup: true, caseSensitive: false }],
      ['AccountNumber', 'string', 'Account Number', { length: 40 }],
      ['Type', 'picklist', 'Account Type'],
      ['ParentId', 'reference', 'Parent Account ID', { referenceTo: ['Account'], relationshipName: 'Parent' }],
      ...addressFields('Billing'),
      ...addressFields('Shipping'),
      ['Phone', 'phone', 'Account Phone'],
      ['Website', 'url', 'Website'],
      ['Industry', 'picklist', 'Industry'],
      ['AnnualRevenue', 'currency', 'Annual Revenue'],
      ['NumberOfEmployees', 'int', 'Employees'],
      ['Description', 'textarea', 'Account Description', { length: 32000 }],
      ['LastActivityDate', 'date', 'Last Activity', READ_ONLY],
    ],
  },
  {
    name: 'Contact',
    label: 'Contact',
    plural: 'Contacts',
    keyPrefix: '003',
    fields: [
      ['AccountId', 'reference', 'Account ID', { referenceTo: ['Account'], relationshipName: 'Account' }],
      ['LastName', 'string', 'Last Name', { length: 80, nillable: false }],
      ['FirstName', 'string', 'First Name', { length: 40 }],
      ['Salutation', 'picklist', 'Salutation', { length: 40 }],
      ['Name', 'string', 'Full Name', { ...READ_ONLY, length: 121, idLookup: true, caseSensitive: false }],
      ...addressFields('Mailing'),
      ['Phone', 'phone', 'Business Phone'],
      ['MobilePhone', 'phone', 'Mobile Phone'],
      ['Email', 'email', 'Email', { idLookup: true, caseSensitive: false }],
      ['Title', 'string', 'Title', { length: 128 }],
      ['Department', 'string', 'Department', { length: 80 }],
      ['Description', 'textarea', 'Contact Description', { length: 32000 }],
      ['LastActivityDate', 'date', 'Last Activity', READ_ONLY],
    ],
  },
];

export const USER_KEY_PREFIX = '005';
