/**
 * /admin/queues — the BullMQ board (@bull-board) over the events, push and
 * deflection queues. Its scripts, styles and API come from this server (the UI
 * package's own static files); its page links a Google Fonts stylesheet, which
 * the policy below does not allow, so it falls back to system fonts and nothing
 * leaves for a CDN.
 *
 * Read-only unless admin.boardWrites is true: a job added there would skip the
 * webhooks' signature checks, and pausing or cleaning a queue loses work. The
 * board hides its buttons (bull-board's readOnlyMode) and, in case a route is
 * missed there, any request other than GET/HEAD is refused here with 403.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Express, RequestHandler } from 'express';

const BOARD_PATH = '/admin/queues';

/** Scripts and styles from here only (the board uses inline style attributes), API calls to here only, never framed. */
const BOARD_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/** The board's express app, to mount at BOARD_PATH behind the admin check. */
export function boardHandler(queues: ReadonlyArray<Queue>, opts: { writes: boolean }): RequestHandler {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: !opts.writes })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'portal-sync queues', miscLinks: [{ text: 'Dashboard', url: '/admin' }] } },
  });
  const board = serverAdapter.getRouter() as Express;
  board.disable('x-powered-by');
  return (req, res, next) => {
    res.setHeader('Content-Security-Policy', BOARD_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!opts.writes && req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(403).json({
        error: 'the queue board is read-only: set admin.boardWrites: true to allow changes from it',
        reason: 'read_only',
      });
      return;
    }
    board(req, res, next);
  };
}
