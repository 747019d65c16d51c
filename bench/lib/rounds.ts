/**
 * Alternating rounds of a bench that compares ours with a baseline: the speed of a shared 2-core machine drifts
 * by tens of percent within seconds, so one baseline and one run of ours can meet different machines. Each round
 * measures both, one after the other; the round of the median ratio is the one reported.
 */

/** The round of the median ratio: of an even number of rounds, the lower of the two middle ones. */
export function medianRound<R extends { ratio: number }>(rounds: readonly R[]): R {
  if (rounds.length === 0) throw new Error('medianRound: no rounds');
  return [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor((rounds.length - 1) / 2)]!;
}
