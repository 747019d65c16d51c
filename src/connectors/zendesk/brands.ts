/**
 * The brands YAML `zendesk.brands` lists, checked against the account's own (GET /api/v2/brands, cursor
 * paged): each must exist and be active, and each host it lists must be one its Help Center is served
 * from — its `host_mapping` or `<subdomain>.zendesk.com` (Zendesk's Brands API). `setup zendesk` runs it,
 * so a typo in an id or a host is found before customers see the wrong brand's tickets, or none.
 * Read-only.
 */
import type { BrandEntry } from '../../sync/events/brands.js';
import { zendeskRequest, type ZendeskClient } from './client.js';

export interface ZendeskBrandCheck {
  id: string;
  /** The brand's name in Zendesk, when found. */
  name: string | null;
  /** Where its Help Center is served from, when found. */
  hosts: string[];
  /** What is wrong; empty when the listed brand is as configured. */
  problems: string[];
}

interface ApiBrand {
  id: number;
  name?: string;
  subdomain?: string;
  host_mapping?: string | null;
  active?: boolean;
  is_deleted?: boolean;
  has_help_center?: boolean;
}

const MAX_PAGES = 20;

/** Every brand of the account, page by page (100 a page). */
async function listZendeskBrands(client: ZendeskClient): Promise<ApiBrand[]> {
  const out: ApiBrand[] = [];
  let after: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query: Record<string, string | number> = { 'page[size]': 100, ...(after ? { 'page[after]': after } : {}) };
    const body = (await zendeskRequest(client, 'GET', ['brands', query])) as {
      brands?: ApiBrand[];
      meta?: { has_more?: boolean; after_cursor?: string | null };
    };
    out.push(...(body.brands ?? []));
    after = body.meta?.has_more ? (body.meta.after_cursor ?? null) : null;
    if (!after) break;
  }
  return out;
}

/** The hosts a brand's Help Center answers on, lower case. */
function brandHosts(b: ApiBrand): string[] {
  return [b.host_mapping, b.subdomain ? `${b.subdomain}.zendesk.com` : null]
    .filter((h): h is string => typeof h === 'string' && h !== '')
    .map((h) => h.toLowerCase());
}

/** Each listed brand as the account has it, with what does not match. */
function checkBrands(listed: readonly BrandEntry[], account: readonly ApiBrand[]): ZendeskBrandCheck[] {
  return listed.map((entry) => {
    const found = account.find((b) => String(b.id) === entry.id && b.is_deleted !== true);
    if (!found) return { id: entry.id, name: null, hosts: [], problems: ['no such brand in this Zendesk account'] };
    const hosts = brandHosts(found);
    const problems: string[] = [];
    if (found.active === false) problems.push('the brand is not active');
    if (entry.hosts.length > 0 && found.has_help_center === false) problems.push('the brand has no Help Center');
    for (const h of entry.hosts)
      if (!hosts.includes(h))
        problems.push(`host ${h} is not this brand's (its Help Center: ${hosts.join(', ') || 'none'})`);
    return { id: entry.id, name: found.name ?? null, hosts, problems };
  });
}

export async function checkZendeskBrands(
  client: ZendeskClient,
  listed: readonly BrandEntry[],
): Promise<ZendeskBrandCheck[]> {
  return listed.length === 0 ? [] : checkBrands(listed, await listZendeskBrands(client));
}
