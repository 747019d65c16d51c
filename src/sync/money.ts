/**
 * Stripe amounts are integers in the currency's minor unit; portals and the
 * customer's own view show decimals in major units. Stripe's own lists
 * (docs.stripe.com/currencies): zero-decimal currencies, three-decimal ones,
 * two decimals for the rest (ISK and HUF included: Stripe still takes their
 * amounts with two).
 */
const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** 1999 usd → 19.99; 500 jpy → 500; 5124 kwd → 5.124. An unknown or absent currency counts as two-decimal. */
export function toMajorUnits(amount: number, currency: string | null | undefined): number {
  const c = currency?.toLowerCase() ?? '';
  const decimals = ZERO_DECIMAL.has(c) ? 0 : THREE_DECIMAL.has(c) ? 3 : 2;
  // IEEE division is correctly rounded, so 1999 / 100 serializes as 19.99.
  return amount / 10 ** decimals;
}
