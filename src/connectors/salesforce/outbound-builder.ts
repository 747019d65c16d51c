/**
 * Renders an Outbound Message the way Salesforce puts it on the wire, for
 * tests and the local Salesforce stand-in. Kept apart from the parser so the
 * daemon's request path never depends on test scaffolding.
 */
import { API_NAME, OUTBOUND_NS, SOAP_ENV_NS, SOBJECT_NS, escapeXml } from './outbound.js';

export type OutboundNotificationSpec = {
  /** The Notification Id (04l…), which Salesforce keeps across retries. */
  id: string;
  /** Account, Contact, Lead, … — rendered as xsi:type="sf:<type>". */
  sObjectType: string;
  /** By API name, in the order to render; null becomes xsi:nil="true". Include `Id`. */
  fields: Record<string, string | null>;
};

export type OutboundMessageSpec = {
  organizationId: string;
  actionId: string;
  /** Only sent when the outbound message is configured to include one; nil otherwise. */
  sessionId?: string | null;
  instanceUrl?: string;
  apiVersion?: string;
  notifications: OutboundNotificationSpec[];
};

const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
const XSD_NS = 'http://www.w3.org/2001/XMLSchema';

function element(indent: number, name: string, value: string | null): string {
  const pad = ' '.repeat(indent);
  return value === null ? `${pad}<${name} xsi:nil="true"/>` : `${pad}<${name}>${escapeXml(value)}</${name}>`;
}

function notification(spec: OutboundNotificationSpec): string[] {
  if (!API_NAME.test(spec.sObjectType)) throw new Error(`not an sObject type: ${spec.sObjectType}`);
  const lines = ['   <Notification>', element(4, 'Id', spec.id)];
  lines.push(`    <sObject xsi:type="sf:${spec.sObjectType}" xmlns:sf="${SOBJECT_NS}">`);
  for (const [name, value] of Object.entries(spec.fields)) {
    if (!API_NAME.test(name)) throw new Error(`not a Salesforce API name: ${name}`);
    lines.push(element(5, `sf:${name}`, value));
  }
  lines.push('    </sObject>', '   </Notification>');
  return lines;
}

/**
 * Throws on names XML cannot carry. Does not enforce the 100-notification
 * cap, so tests can build the oversized message the parser must refuse.
 */
export function buildOutboundMessage(opts: OutboundMessageSpec): string {
  const instanceUrl = opts.instanceUrl ?? 'https://example.my.salesforce.com';
  const apiVersion = opts.apiVersion ?? '62.0';
  // The callback URLs carry the 15-character org id, as Salesforce renders them.
  const org15 = opts.organizationId.slice(0, 15);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV_NS}" xmlns:xsd="${XSD_NS}" xmlns:xsi="${XSI_NS}">`,
    ' <soapenv:Body>',
    `  <notifications xmlns="${OUTBOUND_NS}">`,
    element(3, 'OrganizationId', opts.organizationId),
    element(3, 'ActionId', opts.actionId),
    element(3, 'SessionId', opts.sessionId ?? null),
    element(3, 'EnterpriseUrl', `${instanceUrl}/services/Soap/c/${apiVersion}/${org15}`),
    element(3, 'PartnerUrl', `${instanceUrl}/services/Soap/u/${apiVersion}/${org15}`),
    ...opts.notifications.flatMap(notification),
    '  </notifications>',
    ' </soapenv:Body>',
    '</soapenv:Envelope>',
    '',
  ].join('\n');
}
