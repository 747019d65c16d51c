/**
 * The Stripe parser's quick path (src/sync/events/quick-check.ts, used by src/connectors/stripe/events.ts) never says
 * yes where zod says no: for every fixture and any broken copy of it (a field removed or replaced by another kind of
 * value), a quick yes is zod's yes, and the parse gives exactly what the zod-only parse gives — the same events, or
 * the same quarantine reason. The valid fixtures do take the quick path.
 */
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { z } from 'zod';
import { describe, expect, it, vi } from 'vitest';
import { parseStripeEvent, STRIPE_CROSS_ID_KEYS } from '../../../src/connectors/stripe/events.js';
import { quickCheck } from '../../../src/sync/events/quick-check.js';
import { SourceEventSchema } from '../../../src/sync/events/source-event.js';

const FIXTURES = new URL('../../fixtures/stripe/', import.meta.url);
type Json = Record<string, unknown>;
const fixtures: Json[] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(new URL(f, FIXTURES), 'utf8')) as Json);

/** A fresh copy of the parser whose quick checks are `wrap`ped (the real ones, or none: zod alone, as before). */
async function parserWith(
  wrap: (real: (value: unknown) => boolean) => (value: unknown) => boolean,
): Promise<typeof parseStripeEvent> {
  const module = '../../../src/sync/events/quick-check.js';
  vi.resetModules();
  vi.doMock(module, async (importOriginal) => {
    const original = await importOriginal<typeof import('../../../src/sync/events/quick-check.js')>();
    return { quickCheck: (schema: z.ZodType) => wrap(original.quickCheck(schema)) };
  });
  try {
    return (await import('../../../src/connectors/stripe/events.js')).parseStripeEvent;
  } finally {
    vi.doUnmock(module);
    vi.resetModules();
  }
}

/** Every path to a value in `value` (objects and arrays), the root excluded. */
function pathsOf(value: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value !== 'object' || value === null) return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...at, k], ...pathsOf(v, [...at, k])]);
}

/** A copy of `value` with the value at `path` replaced (or removed, for `remove`). */
function broken(value: unknown, path: Array<string | number>, replacement: unknown, remove: boolean): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

/** Values of every kind zod's checks here tell apart: wrong types, empty, out of range, not whole, not finite. */
const replacement = fc.oneof(
  fc.constantFrom(null, undefined, '', ' ', 0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, 253_402_300_800, true, false),
  fc.constantFrom([], {}, [1], { id: '' }, { id: 'x' }, 'event', 'subscription', 'invoice', 'customer', 'month'),
  fc.constantFrom('acct_1', 'cus_1', 'not-an-id', 'x'.repeat(201), '2026-01-01T00:00:00Z'),
  fc.jsonValue({ maxDepth: 2 }),
);

describe('the quick path of the Stripe parser', () => {
  it('takes every valid fixture through the quick checks (envelope, object, mapped event: no zod parse)', async () => {
    const answers: boolean[] = [];
    const counted = await parserWith((real) => (value) => {
      const yes = real(value);
      answers.push(yes);
      return yes;
    });
    for (const raw of fixtures) expect(counted(raw)).toEqual(parseStripeEvent(raw));
    // Each handled fixture asks three (envelope, object, event); an ignored one only the envelope.
    expect(answers.length).toBeGreaterThan(fixtures.length * 2);
    expect(answers.every(Boolean)).toBe(true);
  });

  it('says yes only where zod says yes, and parses exactly as zod alone does, for any broken copy of a fixture', async () => {
    const zodOnly = await parserWith(() => () => false);
    const cases = fixtures.flatMap((raw) => pathsOf(raw).map((path) => ({ raw, path })));
    fc.assert(
      fc.property(fc.constantFrom(...cases), replacement, fc.boolean(), ({ raw, path }, value, remove) => {
        const event = broken(raw, path, value, remove);
        expect(parseStripeEvent(event, STRIPE_CROSS_ID_KEYS, null)).toEqual(zodOnly(event, STRIPE_CROSS_ID_KEYS, null));
        expect(parseStripeEvent(event, STRIPE_CROSS_ID_KEYS, 'acct_1Quick')).toEqual(
          zodOnly(event, STRIPE_CROSS_ID_KEYS, 'acct_1Quick'),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts a mapped event only where the queue schema accepts it, for any broken copy of one', () => {
    const accepted = quickCheck(SourceEventSchema);
    const events = fixtures.flatMap((raw) => {
      const r = parseStripeEvent(raw);
      return r.kind === 'events' ? r.events : [];
    });
    expect(events.length).toBeGreaterThan(5);
    for (const e of events) expect(accepted(e)).toBe(true);
    const cases = events.flatMap((e) => pathsOf(e).map((path) => ({ e, path })));
    fc.assert(
      fc.property(fc.constantFrom(...cases), replacement, fc.boolean(), ({ e, path }, value, remove) => {
        const event = broken(e, path, value, remove);
        if (accepted(event)) expect(SourceEventSchema.safeParse(event).success).toBe(true);
      }),
      { numRuns: 3000 },
    );
    // A key the strict schema does not name is refused quickly too (zod says why).
    expect(accepted({ ...events[0]!, extra: 1 })).toBe(false);
    expect(accepted({ ...events[0]!, refs: { ...events[0]!.refs, other: 'x' } })).toBe(false);
  });
});
