/**
 * Zendesk brands as config lists them: which events a brand-restricted deployment applies, which brand a
 * Help Center host is, a brand as a bounded metric label, and `zendesk.brands` refused with its key named.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../../src/config.js';
import {
  ALL_BRANDS,
  brandLabeller,
  brandOfHost,
  brandVerdict,
  hostOfOrigin,
  type BrandScope,
} from '../../../src/sync/events/brands.js';
import fc from 'fast-check';
import { mergeRecords } from '../../../src/sync/events/merge.js';
import { emptyRecord } from '../../../src/sync/events/record.js';
import { activity, event, replay, ticket, user } from './merge-events.js';

const A = '360000000001';
const B = '360000000002';
const ONLY_A: BrandScope = { listed: [{ id: A, name: 'Acme', hosts: ['help.acme.test', 'acme.zendesk.com'] }] };

function load(yaml: unknown) {
  const file = join(mkdtempSync(join(tmpdir(), 'portal-sync-brands-')), 'override.yaml');
  writeFileSync(file, stringify(yaml));
  return loadConfig({ PORTAL_SYNC_CONFIG: file });
}

describe('a brand-restricted deployment', () => {
  it("applies its own brand's tickets and skips another brand's, naming the brand", () => {
    expect(brandVerdict(ONLY_A, ticket('1', 'open', { version: 1 }, { brandId: A }))).toEqual({ serve: true });
    expect(brandVerdict(ONLY_A, ticket('2', 'open', { version: 1 }, { brandId: B }))).toEqual({
      serve: false,
      reason: 'other_brand',
      brandId: B,
    });
  });

  it('skips a ticket that names no brand (it may be any brand) but applies portal activity that names none', () => {
    expect(brandVerdict(ONLY_A, ticket('3', 'open', { version: 1 }, { brandId: null }))).toEqual({
      serve: false,
      reason: 'no_brand',
      brandId: null,
    });
    expect(brandVerdict(ONLY_A, ticket('4', 'open', { version: 1 }))).toMatchObject({
      serve: false,
      reason: 'no_brand',
    });
    expect(brandVerdict(ONLY_A, activity('pa-1', 1))).toEqual({ serve: true });
  });

  it('always applies users and organizations, which carry no brand', () => {
    expect(brandVerdict(ONLY_A, user('801', 'jo@example.com', { version: 1 }))).toEqual({ serve: true });
  });

  it('serves every brand when none is listed', () => {
    expect(brandVerdict(ALL_BRANDS, ticket('2', 'open', { version: 1 }, { brandId: B }))).toEqual({ serve: true });
    expect(brandVerdict(ALL_BRANDS, ticket('3', 'open', { version: 1 }, { brandId: null }))).toEqual({ serve: true });
  });
});

describe('Help Center hosts', () => {
  it('finds the listed brand of a host, whatever its case or port, and no brand for another host', () => {
    expect(brandOfHost(ONLY_A, 'HELP.acme.test')?.id).toBe(A);
    expect(brandOfHost(ONLY_A, 'acme.zendesk.com:443')?.id).toBe(A);
    expect(brandOfHost(ONLY_A, 'other.zendesk.com')).toBeNull();
    expect(brandOfHost(ALL_BRANDS, 'help.acme.test')).toBeNull();
    expect(hostOfOrigin('https://help.acme.test')).toBe('help.acme.test');
    expect(hostOfOrigin('not a url')).toBeNull();
  });
});

describe('brand metric labels', () => {
  it('label listed brands by id and anything else as other; an unknown brand as none', () => {
    const label = brandLabeller(ONLY_A);
    expect([label(A), label(B), label(null), label(undefined)]).toEqual([A, 'other', 'none', 'none']);
  });

  it('without a list, label the first brands met by id and the rest as other, so the label set stays bounded', () => {
    const label = brandLabeller(ALL_BRANDS, 2);
    expect(['1', '2', '3', '1', '4', '2'].map(label)).toEqual(['1', '2', 'other', '1', 'other', '2']);
  });
});

describe('zendesk.brands in the configuration', () => {
  it('serves every brand by default', () => {
    const r = loadConfig({});
    expect(r.ok && r.config.zendesk.brands).toEqual([]);
  });

  it('takes brand ids alone or with a name and Help Center hosts', () => {
    const r = load({
      zendesk: { brands: [360000000001, { id: 360000000002, name: 'Globex', hosts: ['Help.Globex.test'] }] },
    });
    expect(r.ok && r.config.zendesk.brands).toEqual([
      { id: A, name: null, hosts: [] },
      { id: B, name: 'Globex', hosts: ['help.globex.test'] },
    ]);
  });

  it('refuses ids that are not positive integers, unknown keys, bad hosts and a brand listed twice, naming each key', () => {
    const r = load({
      zendesk: { brands: ['acme', -1, { id: 5, colour: 'red' }, { id: 6, hosts: ['https://help.x.test/'] }, 7, 7] },
    });
    expect(r.ok).toBe(false);
    const all = r.ok ? '' : r.problems.join('\n');
    expect(all).toMatch(
      /zendesk\.brands\.0: expected a Zendesk brand id \(a positive integer\) or \{ id, name, hosts \}/,
    );
    expect(all).toMatch(/zendesk\.brands\.1: expected a Zendesk brand id/);
    expect(all).toMatch(/zendesk\.brands\.2.*colour|colour.*zendesk\.brands\.2/);
    expect(all).toMatch(/zendesk\.brands\.3\.hosts\.0: expected a host name/);
  });

  it('refuses a brand listed twice and a host given to two brands', () => {
    const r = load({
      zendesk: { brands: [7, 7, { id: 8, hosts: ['help.x.test'] }, { id: 9, hosts: ['help.x.test'] }] },
    });
    const all = r.ok ? '' : r.problems.join('\n');
    expect(all).toMatch(/zendesk\.brands\.1: brand 7 is listed twice/);
    expect(all).toMatch(/zendesk\.brands\.3\.hosts: host help\.x\.test is listed for brands 8 and 9/);
  });
});

/** Portal activity on the Help Center of `brand` (or of no brand). */
const activityOn = (eventId: string, version: number, brand: string | null) =>
  event(
    'contact-1',
    {
      kind: 'portal.activity',
      activity: 'article_view',
      sessionId: null,
      query: null,
      resultCount: null,
      articleId: '1',
      invoiceId: null,
      ticketId: null,
      properties: {},
      ...(brand ? { brandId: brand } : {}),
    },
    { version, eventId, type: 'article_view' },
  );

describe('the Help Center brands a customer has been seen on', () => {
  it('are kept on the record from its portal activity, ascending, and shown in derived.selfService', () => {
    const record = replay([
      activityOn('a1', 3_000, B),
      activityOn('a2', 1_000, A),
      activityOn('a3', 2_000, null),
      activityOn('a4', 500, B),
    ]);
    expect(record.portal.brandIds).toEqual([A, B]);
    expect(record.derived.selfService).toEqual({ lastActivityAt: new Date(3_000).toISOString(), brandIds: [A, B] });
  });

  it('an older activity on a new brand still adds the brand; one on a known brand changes nothing', () => {
    const first = replay([activityOn('a1', 3_000, A)]);
    const older = replay([activityOn('a0', 1_000, B)], 'cust-1', first);
    expect(older.portal).toMatchObject({ lastActivityEventId: 'a1', brandIds: [A, B] });
    expect(replay([activityOn('a0', 1_000, A)], 'cust-1', first)).toBe(first);
  });

  it('are a set: any order, any repetition, and merged records give the same record', () => {
    const brands = fc.constantFrom(A, B, '42', null);
    const items = fc.array(fc.record({ v: fc.integer({ min: 1, max: 50 }), brand: brands }), {
      minLength: 1,
      maxLength: 12,
    });
    fc.assert(
      fc.property(items, fc.integer({ min: 0, max: 11 }), (list, cut) => {
        const events = list.map((x, i) => activityOn(`e${i}`, x.v * 1_000, x.brand));
        const forward = replay(events);
        expect(replay([...events].reverse())).toEqual(forward);
        expect(replay([...events, ...events])).toEqual(forward);
        const split = mergeRecords(
          replay(events.slice(0, cut)),
          replay(events.slice(cut), 'cust-2', emptyRecord('cust-2')),
          'cust-1',
        );
        expect(split.portal).toEqual(forward.portal);
      }),
      { numRuns: 200 },
    );
  });
});
