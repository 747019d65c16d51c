/**
 * POST /webhooks/salesforce — two senders share the endpoint:
 * - Outbound Messages (SOAP, text/xml). They carry no signature, so the
 *   endpoint URL registered in Salesforce holds a token (?token=…) and every
 *   message's OrganizationId must be ours. The SOAP Ack is sent only after
 *   every notification is enqueued: anything else makes Salesforce retry.
 * - JSON events (Change Data Capture shaped) from Flow HTTP Callouts or Apex,
 *   signed with X-Portal-Sync-Signature.
 */
import type { Request, RequestHandler, Response } from 'express';
import { parseSalesforceJson } from '../connectors/salesforce/cdc.js';
import {
  OUTBOUND_ACK_XML,
  organizationIdMatches,
  parseOutboundMessage,
  soapFault,
} from '../connectors/salesforce/outbound.js';
import { HMAC_HEADER, secretsMatch, verifyHmac } from './hmac.js';
import { HMAC_REJECTIONS } from './portal.js';
import { deliver, parseJson, rawBody, receiver, reject, type ReceiverDeps } from './receive.js';
import { setRetryAfter, UNAVAILABLE_RETRY_AFTER_MS } from './retry-after.js';

export interface SalesforceReceiverOptions {
  orgId?: string;
  outboundToken?: string;
  webhookSecret?: string;
  toleranceSeconds: number;
  clientId: string;
}

function isXml(req: Request, body: Buffer): boolean {
  const type = req.get('content-type') ?? '';
  if (/xml/i.test(type)) return true;
  if (/json/i.test(type)) return false;
  return body.subarray(0, 64).toString('utf8').trimStart().startsWith('<');
}

export function salesforceReceiver(deps: ReceiverDeps, opts: SalesforceReceiverOptions): RequestHandler {
  const soap = (res: Response, status: number, reason: string, message: string) => {
    deps.metrics.rejections.inc({ source: 'salesforce', reason });
    deps.logger.warn({ source: 'salesforce', reason, status }, 'outbound message rejected');
    res
      .status(status)
      .type('text/xml')
      .send(soapFault(status >= 500 ? 'soapenv:Server' : 'soapenv:Client', message));
  };

  const outbound = async (req: Request, res: Response, body: Buffer) => {
    if (!opts.orgId || !opts.outboundToken) {
      return soap(
        res,
        404,
        'not_configured',
        'Outbound Messages are not configured here: set SALESFORCE_ORG_ID and SALESFORCE_OUTBOUND_TOKEN',
      );
    }
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    if (!token) return soap(res, 400, 'missing_signature', 'missing ?token= in the endpoint URL');
    if (!secretsMatch(token, opts.outboundToken))
      return soap(res, 401, 'bad_signature', 'endpoint token does not match SALESFORCE_OUTBOUND_TOKEN');
    const parsed = parseOutboundMessage(body.toString('utf8'));
    if (!parsed.ok) return soap(res, 400, 'malformed_body', parsed.reason);
    if (!organizationIdMatches(parsed.organizationId, opts.orgId)) {
      return soap(res, 401, 'wrong_organization', 'OrganizationId is not the configured SALESFORCE_ORG_ID');
    }
    const delivery = await deliver(
      deps,
      'salesforce',
      parsed.notifications.map((n) => n.result),
      { body, contentType: req.get('content-type') },
    );
    if (delivery.status === 503) {
      setRetryAfter(res, UNAVAILABLE_RETRY_AFTER_MS);
      return void res
        .status(503)
        .type('text/xml')
        .send(soapFault('soapenv:Server', 'another delivery of these notifications is in progress; retry'));
    }
    // Quarantined notifications are kept for replay; acknowledging them stops a retry storm of a payload that cannot pass.
    res.status(200).type('text/xml').send(OUTBOUND_ACK_XML);
  };

  const json = async (req: Request, res: Response, body: Buffer) => {
    if (!opts.webhookSecret) {
      return reject(deps, res, 'salesforce', {
        status: 404,
        reason: 'not_configured',
        message: 'Salesforce JSON events are not configured here: set SALESFORCE_WEBHOOK_SECRET',
      });
    }
    const verified = verifyHmac(body, req.get(HMAC_HEADER), [opts.webhookSecret], opts.toleranceSeconds);
    if (!verified.ok)
      return reject(deps, res, 'salesforce', { reason: verified.reason, ...HMAC_REJECTIONS[verified.reason] });
    const value = parseJson(body);
    if (!value.ok)
      return reject(deps, res, 'salesforce', {
        status: 400,
        reason: 'malformed_body',
        message: 'body is not valid JSON',
      });
    const results = parseSalesforceJson(value.value, { clientId: opts.clientId });
    const delivery = await deliver(deps, 'salesforce', results, { body, contentType: req.get('content-type') });
    res.status(delivery.status).json({ received: true, ...delivery.counts });
  };

  return receiver(
    deps,
    'salesforce',
    async (req, res) => {
      const body = rawBody(req);
      await (isXml(req, body) ? outbound(req, res, body) : json(req, res, body));
    },
    (res, status, body) => {
      // Salesforce expects SOAP either way; JSON callers read the status code.
      if (res.req && isXml(res.req, rawBody(res.req)))
        res
          .status(status)
          .type('text/xml')
          .send(soapFault(status >= 500 ? 'soapenv:Server' : 'soapenv:Client', body.error));
      else res.status(status).json(body);
    },
  );
}
