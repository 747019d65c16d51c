/** How `identity forget --portal clear|keep` tells what became of the data pushed to the portals: lines for stdout, problems for stderr. */
import type { PortalOutcome, TargetClearOutcome } from '../sync/admin/portal-clear.js';

const SHOWN = 5;

function list(items: readonly string[]): string {
  const shown = items.slice(0, SHOWN).join(', ');
  return items.length > SHOWN ? `${shown} and ${items.length - SHOWN} more` : shown;
}

function targetLine(o: TargetClearOutcome): string {
  const cleared = o.cleared.length > 0 ? `cleared ${o.cleared.length} (${list(o.cleared)})` : 'cleared nothing';
  return `portal ${o.target}: ${cleared}; ${o.absent.length} already gone\n`;
}

/** `rerun`: the command to run again, shown when something is left on a portal. */
export function portalReport(p: PortalOutcome, rerun: string, days: number): { out: string; err: string } {
  const unlocated = p.unlocated
    .map(
      (u) =>
        `portal-sync: portal ${u}; run \`portal-sync identity forget EMAIL --portal clear --reason … --yes\` with the customer's email to look again\n`,
    )
    .join('');
  if (p.mode === 'keep') {
    if (p.targets.length === 0) return { out: '', err: '' };
    return {
      out: `portal: kept what was pushed to ${p.targets.join(' and ')}; \`${rerun}\` takes it back (within ${days} days)\n`,
      err: unlocated,
    };
  }
  if (p.targets.length === 0)
    return { out: 'portal: no portal target configured (PORTAL_TARGET): nothing to clear\n', err: '' };
  let out = '';
  let err = unlocated;
  for (const o of p.cleared) {
    if (o.error !== undefined) {
      err += `portal-sync: portal ${o.target}: nothing cleared: ${o.error}\n`;
      continue;
    }
    out += targetLine(o);
    if (o.failed.length > 0)
      err += `portal-sync: portal ${o.target}: ${o.failed.length} not cleared: ${o.failed.slice(0, 10).join('; ')}\n`;
  }
  if (p.pending)
    err += `portal-sync: what is left on the portal is kept in the plan: run \`${rerun}\` again (what is already gone is skipped)\n`;
  return { out, err };
}
