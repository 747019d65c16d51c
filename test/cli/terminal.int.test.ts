/**
 * Webhook data never drives the operator's terminal: escape sequences and
 * control characters in a ticket subject, an event id or a conflict's evidence
 * are stripped from what `inspect`, `dlq list` and `identity conflicts` print,
 * while their --json output keeps the exact text.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forTerminal } from '../../src/cli/terminal.js';
import { RecordStore } from '../../src/sync/events/store.js';
import { sendZendesk } from '../support/e2e.js';
import { startTestPipeline, type TestPipeline } from '../support/pipeline.js';
import { cliArgv } from '../support/cli.js';

const root = resolve(import.meta.dirname, '../..');
/** Retitles the window, turns the text red, clears the screen, and reverses the rest of the line. */
const HOSTILE = '\x1b]0;pwned\x07\x1b[31mRED\x1b[0m\x1b[2J\x9b1m\u202eevil\r';
let p: TestPipeline;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, cliArgv(args), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', REDIS_URL: p.daemon.config.redis.url, REDIS_PREFIX: p.daemon.prefix },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Nothing a terminal would act on: no ESC, no other control character but tab and newline, no bidi override. */
const inert = (s: string) => !/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(s);

beforeAll(async () => {
  p = await startTestPipeline();
  await sendZendesk(p.daemon, 'trigger.ticket.json', (e) => {
    e.ticket.id = '88001';
    e.ticket.subject = `Invoice ${HOSTILE} question`;
    e.ticket.requester_id = '8800100';
    e.ticket.organization_id = '';
    e.ticket.organization_external_id = '';
  });
  await p.drain();
  await p.daemon.ingestor.quarantine({
    source: 'stripe',
    eventId: `evt_${HOSTILE}`,
    reason: `2 items failed their schema: evt_${HOSTILE}: bad`,
    contentType: 'application/json',
    body: '{}',
  });
  const store = new RecordStore(p.daemon.redis, p.daemon.prefix);
  const conflict = {
    id: 'conflict-terminal',
    recordIds: ['cust_a', 'cust_b'],
    system: 'salesforce',
    keys: ['sf:001A', 'sf:001B'],
    evidence: { source: 'stripe', eventId: `evt_${HOSTILE}`, type: 'customer.updated', via: 'email:x@example.com' },
  };
  await p.daemon.redis.hset(store.conflictsKey, conflict.id, JSON.stringify(conflict));
});
afterAll(async () => {
  await p?.stop();
});

describe('human-readable CLI output', () => {
  it('inspect prints the ticket subject without its escape sequences', () => {
    const r = cli('inspect', 'zendesk:user:8800100');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Invoice ');
    expect(r.out).toContain('REDevil question');
    expect(inert(r.out)).toBe(true);
    const json = cli('inspect', 'zendesk:user:8800100', '--json');
    expect(JSON.stringify(JSON.parse(json.out))).toContain(JSON.stringify(`Invoice ${HOSTILE} question`).slice(1, -1));
  }, 240_000); // each command is a process of its own, slow on a loaded machine

  it('dlq list and identity conflicts print event ids from payloads inert, and --json keeps them exact', () => {
    for (const args of [
      ['dlq', 'list'],
      ['identity', 'conflicts'],
    ]) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out, args.join(' ')).toContain('evt_RED');
      expect(inert(r.out), args.join(' ')).toBe(true);
      const json = cli(...args, '--json');
      expect(json.out, args.join(' ')).toContain(JSON.stringify(`evt_${HOSTILE}`).slice(1, -1));
    }
  }, 480_000);

  it('forTerminal leaves plain text alone and never lets a control character through', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const plain = s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
        return forTerminal(plain) === plain;
      }),
    );
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => inert(forTerminal(s))));
  });
});
