/** Spacing of API calls that share a budget (Zendesk's export limit, Stripe's read limit). */

/** Spaces calls `60_000 / perMinute` ms apart, whoever makes them; `onWait` hears of every wait before it starts. */
export function createPacer(
  perMinute: number,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  onWait?: (ms: number) => void,
): () => Promise<void> {
  const interval = perMinute > 0 ? 60_000 / perMinute : 0;
  let nextAt = 0;
  return async () => {
    const now = Date.now();
    const at = Math.max(now, nextAt);
    nextAt = at + interval;
    if (at > now) {
      onWait?.(at - now);
      await sleep(at - now);
    }
  };
}
