/**
 * The stand-ins with many objects, as the resync benchmark uses them: SOQL
 * pages with ORDER BY and LIMIT (a bounded heap, not a sort of the whole
 * table) give exactly what a full stable sort gives; Zendesk exports (kept
 * sorted between calls) see objects changed in place; uniqueness is still
 * enforced when a name or external id changes.
 */
import { Connection } from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { startSalesforceStandIn, type SalesforceStandIn } from '../../src/demo/standins/salesforce/index.js';
import { startZendeskStandIn, type ZendeskStandIn } from '../../src/demo/standins/zendesk/index.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

type Row = { Id: string; Name: string; NumberOfEmployees: number | null };

describe('SOQL pages over many records', () => {
  it('ORDER BY … LIMIT / OFFSET returns what a full stable sort returns, nulls, ties and DESC included', async () => {
    const sf: SalesforceStandIn = await startSalesforceStandIn({});
    open.push(sf);
    // Few distinct values: many ties, kept in insertion order by a stable sort.
    const seeded = Array.from({ length: 1_500 }, (_, i) =>
      sf.state.seedAccount({
        Name: `Account ${String((i * 7919) % 1_500).padStart(4, '0')}`,
        NumberOfEmployees: i % 11 === 0 ? null : (i * 31) % 17,
      }),
    );
    const conn = new Connection({ instanceUrl: sf.instanceUrl, accessToken: sf.accessToken, version: '62.0' });
    const rows = async (soql: string) => ((await conn.query<Row>(soql)).records as Row[]).map((r) => r.Id);
    const byEmployees = (desc: boolean) => (a: (typeof seeded)[number], b: (typeof seeded)[number]) => {
      const [x, y] = [a['NumberOfEmployees'] as number | null, b['NumberOfEmployees'] as number | null];
      if (x === null || y === null) return x === y ? 0 : (x === null) === desc ? 1 : -1; // NULLS FIRST for ASC, LAST for DESC (SOQL's default)
      return desc ? y - x : x - y;
    };
    const expected = (desc: boolean) => [...seeded].sort(byEmployees(desc)).map((r) => r.Id);

    expect(await rows('SELECT Id FROM Account ORDER BY NumberOfEmployees LIMIT 200')).toEqual(
      expected(false).slice(0, 200),
    );
    expect(await rows('SELECT Id FROM Account ORDER BY NumberOfEmployees DESC LIMIT 150 OFFSET 300')).toEqual(
      expected(true).slice(300, 450),
    );
    expect(await rows('SELECT Id FROM Account ORDER BY Name, Id LIMIT 5')).toEqual(
      [...seeded]
        .sort((a, b) => String(a['Name']).localeCompare(String(b['Name'])) || a.Id.localeCompare(b.Id))
        .slice(0, 5)
        .map((r) => r.Id),
    );
    // A LIMIT larger than the table: everything, in order.
    expect(await rows('SELECT Id FROM Account ORDER BY NumberOfEmployees LIMIT 2000')).toEqual(expected(false));
  });
});

describe('Zendesk with many objects', () => {
  const auth = (zd: ZendeskStandIn) => ({
    authorization: `Basic ${Buffer.from(`${zd.credentials.email}/token:${zd.credentials.token}`).toString('base64')}`,
  });
  const exportAll = async (zd: ZendeskStandIn): Promise<number[]> => {
    const ids: number[] = [];
    let url = `${zd.baseUrl}/incremental/tickets/cursor.json?start_time=0&per_page=100`;
    for (;;) {
      const body = (await (await fetch(url, { headers: auth(zd) })).json()) as {
        tickets: Array<{ id: number }>;
        after_cursor: string;
        end_of_stream: boolean;
      };
      ids.push(...body.tickets.map((t) => t.id));
      if (body.end_of_stream) return ids;
      url = `${zd.baseUrl}/incremental/tickets/cursor.json?cursor=${body.after_cursor}&per_page=100`;
    }
  };

  it('exports see tickets changed in place between calls, in (timestamp, id) order', async () => {
    const zd = await startZendeskStandIn({ exportLagSeconds: 0 });
    open.push(zd);
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    for (let i = 1; i <= 450; i++)
      zd.seedTicket({ id: i, updated_at: new Date((hourAgo + (i % 7)) * 1000).toISOString() });
    const first = await exportAll(zd);
    expect(first).toHaveLength(450);
    // Changed in the UI (here: in place), so last in the next export.
    const t = zd.state.tickets.get(3)!;
    t.generated_timestamp = hourAgo + 100;
    t.updated_at = new Date(t.generated_timestamp * 1000).toISOString();
    const second = await exportAll(zd);
    expect(second.at(-1)).toBe(3);
    expect(second.slice(0, -1)).toEqual(first.filter((id) => id !== 3));
    // One more ticket: in its place.
    zd.seedTicket({ id: 1_000, updated_at: new Date((hourAgo + 50) * 1000).toISOString() });
    expect((await exportAll(zd)).slice(-2)).toEqual([1_000, 3]);
  });

  it('update_many of fields is not slowed by uniqueness checks, and a taken name or external id is still refused', async () => {
    const zd = await startZendeskStandIn({ exportLagSeconds: 0, jobPollsUntilComplete: 1 });
    zd.seedField('organization', { key: 'billing_status', type: 'text' });
    open.push(zd);
    for (let i = 1; i <= 3_000; i++) zd.seedOrganization({ id: i, name: `Org ${i}`, external_id: `ext-${i}` });
    const put = async (organizations: unknown[]) => {
      const res = await fetch(`${zd.baseUrl}/organizations/update_many.json`, {
        method: 'PUT',
        headers: { ...auth(zd), 'content-type': 'application/json' },
        body: JSON.stringify({ organizations }),
      });
      const { job_status } = (await res.json()) as { job_status: { id: string } };
      const polled = (await (
        await fetch(`${zd.baseUrl}/job_statuses/show_many.json?ids=${job_status.id}`, { headers: auth(zd) })
      ).json()) as { job_statuses: Array<{ results: Array<{ status: string; details?: string }> }> };
      return polled.job_statuses[0]!.results;
    };
    const fields = Array.from({ length: 100 }, (_, i) => ({
      id: i + 1,
      organization_fields: { billing_status: 'active' },
    }));
    expect((await put(fields)).every((r) => r.status === 'Updated')).toBe(true);
    expect(zd.state.organizations.get(42)!.organization_fields).toEqual({ billing_status: 'active' });
    const results = await put([
      { id: 5, name: 'org 6' },
      { id: 7, external_id: 'EXT-8' },
      { id: 9, name: 'Org 9 renamed' },
    ]);
    expect(results.map((r) => r.status)).toEqual(['Failed', 'Failed', 'Updated']);
    expect(results[0]!.details).toMatch(/has already been taken/);
  });
});
