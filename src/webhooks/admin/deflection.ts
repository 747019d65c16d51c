/**
 * GET /admin/deflection?since=30d[&until=7d][&brand=ID|name] — the deflection report page, the same HTML as
 * `portal-sync report deflection --html [--brand …]`.
 */
import type { RequestHandler, Response } from 'express';
import type { Logger } from '../../log.js';
import { computeDeflectionReport } from '../../sync/deflection/report.js';
import { renderDeflectionHtml } from '../../sync/deflection/report-html.js';
import { parseSince, SinceError, type ReportPeriod } from '../../sync/deflection/report-period.js';
import type { DeflectionData } from '../../sync/deflection/types.js';
import { ALL_BRANDS, brandNames, resolveBrand, type BrandScope } from '../../sync/events/brands.js';

/** The page needs nothing but its own inline styles: no script runs, nothing loads, no one frames it. */
const PAGE_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function sendText(res: Response, status: number, text: string): void {
  res.status(status).type('text/plain; charset=utf-8').send(`${text}\n`);
}

export function deflectionPage(data: DeflectionData, logger: Logger, brands: BrandScope = ALL_BRANDS): RequestHandler {
  const names = brandNames(brands);
  return async (req, res) => {
    const since = req.query.since ?? '30d';
    const until = req.query.until;
    const given = req.query.brand;
    if (given !== undefined && typeof given !== 'string')
      return sendText(res, 400, 'brand: give it once, e.g. ?brand=360000000001');
    const brand = given === undefined || given === '' ? null : resolveBrand(brands, given);
    if (given && !brand)
      return sendText(
        res,
        400,
        'brand: neither a Zendesk brand id (a positive integer) nor the name of a brand in zendesk.brands',
      );
    if (typeof since !== 'string') return sendText(res, 400, 'since: give it once, e.g. ?since=30d');
    if (until !== undefined && typeof until !== 'string')
      return sendText(res, 400, 'until: give it once, e.g. ?until=7d');
    let period: ReportPeriod;
    try {
      period = parseSince(since, new Date(), until);
    } catch (err) {
      if (err instanceof SinceError) return sendText(res, 400, err.message);
      throw err;
    }
    let html: string;
    try {
      html = renderDeflectionHtml(
        await computeDeflectionReport(data, period, { brand: brand?.id ?? null, brandNames: names }),
        { generatedAt: new Date() },
      );
    } catch (err) {
      logger.error({ err }, 'deflection report failed');
      return sendText(
        res,
        503,
        'deflection report unavailable: its data could not be read (is Redis reachable?); try again',
      );
    }
    res.setHeader('Content-Security-Policy', PAGE_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.status(200).type('text/html; charset=utf-8').send(html);
  };
}
