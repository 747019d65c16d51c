/**
 * Zendesk brands in the stand-in, in the shape of Zendesk's Brands API
 * (developer.zendesk.com/api-reference/ticketing/account-configuration/brands): the brand object
 * (`id`, `name`, `subdomain`, `host_mapping`, `brand_url`, `has_help_center`, `help_center_state`,
 * `active`, `default`, `is_deleted`, `ticket_form_ids`, …), `GET /brands` (sorted by name, offset
 * pagination, or cursor pagination with `page[size]`) and `GET /brands/{id}` (404 RecordNotFound).
 *
 * Every ticket has a brand in Zendesk: one created without a brand gets the default brand ("the one
 * that tickets get assigned to if the ticket is generated from a non-branded channel"), which
 * `defaultBrandId` gives the ticket code. An account with no brand seeded keeps tickets unbranded,
 * as the stand-in always did.
 */

export interface ZendeskBrand {
  url: string;
  id: number;
  name: string;
  brand_url: string;
  subdomain: string;
  host_mapping: string | null;
  has_help_center: boolean;
  help_center_state: 'enabled' | 'disabled' | 'restricted';
  active: boolean;
  default: boolean;
  is_deleted: boolean;
  logo: null;
  ticket_form_ids: number[];
  signature_template: string;
  created_at: string;
  updated_at: string;
}

export type BrandInput = Partial<Omit<ZendeskBrand, 'url' | 'brand_url'>> & { name: string; subdomain: string };

export interface BrandBook {
  brands: Map<number, ZendeskBrand>;
  seed(input: BrandInput): ZendeskBrand;
  /** The default brand's id, or null while no brand is seeded. */
  defaultBrandId(): number | null;
  /** Active brands sorted by name, as `GET /brands` lists them. */
  listed(): ZendeskBrand[];
  /** The brand whose Help Center is served from `host` (its host mapping or `<subdomain>.zendesk.com`). */
  ofHost(host: string): ZendeskBrand | undefined;
}

export function createBrandBook(baseUrl: () => string, stamp: () => string): BrandBook {
  const brands = new Map<number, ZendeskBrand>();
  let sequence = 360000000000;
  const book: BrandBook = {
    brands,
    seed(input) {
      const id = input.id ?? ++sequence;
      sequence = Math.max(sequence, id);
      const time = input.created_at ?? stamp();
      const first = brands.size === 0;
      const brand: ZendeskBrand = {
        has_help_center: true,
        help_center_state: 'enabled',
        active: true,
        default: first,
        is_deleted: false,
        logo: null,
        ticket_form_ids: [],
        signature_template: '{{agent.signature}}',
        host_mapping: null,
        created_at: time,
        updated_at: time,
        ...input,
        id,
        url: `${baseUrl()}/brands/${id}.json`,
        brand_url: `https://${input.subdomain}.zendesk.com`,
      };
      // One default brand per account.
      if (brand.default) for (const other of brands.values()) other.default = false;
      brands.set(id, brand);
      return brand;
    },
    defaultBrandId() {
      for (const b of brands.values()) if (b.default) return b.id;
      return null;
    },
    listed() {
      return [...brands.values()]
        .filter((b) => !b.is_deleted)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
    },
    ofHost(host) {
      const h = host.toLowerCase();
      return book.listed().find((b) => b.host_mapping?.toLowerCase() === h || `${b.subdomain}.zendesk.com` === h);
    },
  };
  return book;
}
