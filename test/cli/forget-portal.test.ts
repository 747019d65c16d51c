/**
 * How `identity forget --portal` reports a lookup by email that failed (what it would have found is not
 * in the plan): on stderr, so the command exits 1, with either mode, telling to run it again with the
 * customer's email; never naming an email.
 */
import { describe, expect, it } from 'vitest';
import { portalReport } from '../../src/cli/forget-portal.js';
import type { PortalOutcome } from '../../src/sync/admin/portal-clear.js';

const RERUN = 'portal-sync identity forget zendesk:org:7 --portal clear --reason … --yes';
const FAILED =
  'zendesk: deflection profiles of 2 email(s) not looked up: Zendesk 503: ServiceUnavailable: Service Unavailable';
const TOLD = `portal-sync: portal ${FAILED}; run \`portal-sync identity forget EMAIL --portal clear --reason … --yes\` with the customer's email to look again\n`;

describe('identity forget --portal: a failed lookup by email', () => {
  it('is told on stderr after a keep, beside the kept line', () => {
    const keep: PortalOutcome = { mode: 'keep', targets: ['zendesk'], cleared: [], pending: true, unlocated: [FAILED] };
    expect(portalReport(keep, RERUN, 30)).toEqual({
      out: `portal: kept what was pushed to zendesk; \`${RERUN}\` takes it back (within 30 days)\n`,
      err: TOLD,
    });
  });

  it('is told on stderr after a clear that otherwise succeeded, and nothing is said when every lookup answered', () => {
    const cleared = {
      target: 'zendesk' as const,
      calls: 2,
      cleared: ['deflection_profile:01ABC'],
      absent: [],
      failed: [],
    };
    const clear: PortalOutcome = {
      mode: 'clear',
      targets: ['zendesk'],
      cleared: [cleared],
      pending: false,
      unlocated: [FAILED],
    };
    expect(portalReport(clear, RERUN, 30)).toEqual({
      out: 'portal zendesk: cleared 1 (deflection_profile:01ABC); 0 already gone\n',
      err: TOLD,
    });
    expect(portalReport({ ...clear, unlocated: [] }, RERUN, 30).err).toBe('');
  });
});
