/**
 * Zendesk brands: which brand an event is of, whether this deployment serves it (config
 * `zendesk.brands`), which brand a Help Center host is, and a brand as a bounded metric label.
 * Pure; no I/O. A brand is only ever what a payload or the configuration says, never guessed.
 */
import { z } from 'zod';
import type { SourceEvent } from './source-event.js';

export interface BrandEntry {
  id: string;
  name: string | null;
  /** Help Center hosts of the brand (its host mapping and `<subdomain>.zendesk.com`), lower case. */
  hosts: string[];
}

/** The deployment's brands as config lists them; an empty list serves every brand. */
export interface BrandScope {
  listed: readonly BrandEntry[];
}

export const ALL_BRANDS: BrandScope = { listed: [] };

const brandId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER).transform(String);
const hostname = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/,
    'expected a host name like help.acme.com or acme.zendesk.com',
  );
/** A brand: its id alone, or with a name (reports) and its Help Center hosts (host mapping, <subdomain>.zendesk.com). */
const BrandSchema = z
  .union(
    [
      brandId,
      z.strictObject({
        id: brandId,
        name: z.string().trim().min(1).max(100).optional(),
        hosts: z.array(hostname).max(10).optional(),
      }),
    ],
    {
      error: 'expected a Zendesk brand id (a positive integer) or { id, name, hosts }',
    },
  )
  .transform((b): BrandEntry =>
    typeof b === 'string' ? { id: b, name: null, hosts: [] } : { id: b.id, name: b.name ?? null, hosts: b.hosts ?? [] },
  );
/** YAML `zendesk.brands`: the brands a deployment serves, with their names and Help Center hosts. */
export const BrandsSchema = z
  .array(BrandSchema)
  .max(100)
  .superRefine((brands, ctx) => {
    const ids = new Set<string>();
    const hosts = new Map<string, string>();
    brands.forEach((b, i) => {
      if (ids.has(b.id)) ctx.addIssue({ code: 'custom', message: `brand ${b.id} is listed twice`, path: [i] });
      ids.add(b.id);
      for (const h of b.hosts) {
        const other = hosts.get(h);
        if (other !== undefined && other !== b.id)
          ctx.addIssue({
            code: 'custom',
            message: `host ${h} is listed for brands ${other} and ${b.id}`,
            path: [i, 'hosts'],
          });
        hosts.set(h, b.id);
      }
    });
  });

/** The brand an event says it is of: a string, null for a brand-carrying kind that named none, undefined for kinds that carry no brand. */
function brandOf(event: SourceEvent): string | null | undefined {
  const data = event.data;
  if (data.kind === 'zendesk.ticket' || data.kind === 'portal.activity') return data.brandId ?? null;
  return undefined;
}

export type BrandVerdict =
  { serve: true } | { serve: false; reason: 'other_brand' | 'no_brand'; brandId: string | null };

/**
 * Whether a deployment restricted to some brands applies this event. Organization, user and
 * billing events carry no brand and are always applied. A ticket of no known brand is skipped
 * too (Zendesk gives every ticket a brand; only a trigger body of the template before brands
 * lacks it), so that another brand's ticket never reaches this deployment's customers; portal
 * activity of no known brand is applied (it only counts a session of the customer's own).
 */
export function brandVerdict(scope: BrandScope, event: SourceEvent): BrandVerdict {
  if (scope.listed.length === 0) return { serve: true };
  const brand = brandOf(event);
  if (brand === undefined) return { serve: true };
  if (brand === null)
    return event.data.kind === 'zendesk.ticket' ? { serve: false, reason: 'no_brand', brandId: null } : { serve: true };
  return scope.listed.some((b) => b.id === brand)
    ? { serve: true }
    : { serve: false, reason: 'other_brand', brandId: brand };
}

/** The listed brand whose Help Center is served from `host` (`help.acme.com`, `acme.zendesk.com`), if any. */
export function brandOfHost(scope: BrandScope, host: string | null | undefined): BrandEntry | null {
  if (!host) return null;
  const h = host.trim().toLowerCase().replace(/:\d+$/, '');
  return scope.listed.find((b) => b.hosts.includes(h)) ?? null;
}

/** The host of an Origin header (`https://help.acme.com` → `help.acme.com`), or null. */
export function hostOfOrigin(origin: string | null | undefined): string | null {
  if (!origin) return null;
  try {
    return new URL(origin).hostname.toLowerCase() || null;
  } catch {
    return null;
  }
}

/** How many distinct unlisted brands get a label of their own before the rest count as `other`. */
const MAX_BRAND_LABELS = 20;

/**
 * A brand as a metric label, with bounded cardinality: `none` when unknown; a listed brand's
 * id; without a list, the first MAX_BRAND_LABELS ids this process meets, then `other`.
 */
export function brandLabeller(
  scope: BrandScope,
  max = MAX_BRAND_LABELS,
): (brandId: string | null | undefined) => string {
  const listed = new Set(scope.listed.map((b) => b.id));
  const seen = new Set<string>();
  return (brandId) => {
    if (!brandId) return 'none';
    if (listed.size > 0) return listed.has(brandId) ? brandId : 'other';
    if (seen.has(brandId)) return brandId;
    if (seen.size >= max) return 'other';
    seen.add(brandId);
    return brandId;
  };
}

/**
 * What an operator typed for a brand (`--brand`, `?brand=`): a brand id (a positive integer, listed or
 * not), or the name of a listed brand, any case. Null when it is neither.
 */
export function resolveBrand(scope: BrandScope, given: string): { id: string; name: string | null } | null {
  const g = given.trim();
  if (/^[1-9]\d{0,19}$/.test(g)) return { id: g, name: scope.listed.find((b) => b.id === g)?.name ?? null };
  const byName = scope.listed.find((b) => b.name !== null && b.name.toLowerCase() === g.toLowerCase());
  return byName ? { id: byName.id, name: byName.name } : null;
}

/** Listed brands' names by id, for report labels. */
export function brandNames(scope: BrandScope): Map<string, string | null> {
  return new Map(scope.listed.map((b) => [b.id, b.name]));
}
