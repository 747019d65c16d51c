/**
 * The fault proxy in a process of its own, so that arrival times are taken by
 * an idle event loop: in the test process, a busy moment (the stand-ins, the
 * webhook senders) would stamp calls late and make a window look fuller than
 * it was at the platform's door. Run as a child (`node --import tsx` this
 * file), driven over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ROOT } from './env.js';
import { startFaultProxy, type FaultProxy, type FaultProxyOptions, type ProxiedCall } from './fault-proxy.js';

type Request =
  | { id: number; op: 'start'; opts: Omit<FaultProxyOptions, 'eligible'> }
  | { id: number; op: 'calls' }
  | { id: number; op: 'close' };
type Ask = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;
type Reply = { id: number; origin?: string; calls?: ProxiedCall[]; error?: string };

export interface RemoteFaultProxy {
  origin: string;
  /** Every call so far, as the proxy process recorded it. */
  calls(): Promise<ProxiedCall[]>;
  close(): Promise<void>;
}

export async function startFaultProxyProcess(opts: Omit<FaultProxyOptions, 'eligible'>): Promise<RemoteFaultProxy> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const pending = new Map<number, (r: Reply) => void>();
  child.on('message', (r: Reply) => pending.get(r.id)?.(r));
  const ask = (req: Ask): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, (r) => {
        pending.delete(id);
        if (r.error) reject(new Error(r.error));
        else resolve(r);
      });
      child.send({ ...req, id } as Request);
    });
  const started = await ask({ op: 'start', opts });
  return {
    origin: started.origin!,
    calls: async () => (await ask({ op: 'calls' })).calls!,
    close: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      await ask({ op: 'close' }).catch(() => undefined);
      child.disconnect();
      await gone;
    },
  };
}

// ---- the child's side ----------------------------------------------------------------

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  let proxy: FaultProxy | undefined;
  process.on('message', async (req: Request) => {
    const reply = (r: Omit<Reply, 'id'>) => process.send!({ ...r, id: req.id });
    try {
      if (req.op === 'start') {
        proxy = await startFaultProxy(req.opts);
        reply({ origin: proxy.origin });
      } else if (req.op === 'calls') {
        reply({ calls: proxy?.calls ?? [] });
      } else {
        await proxy?.close();
        reply({});
      }
    } catch (err) {
      reply({ error: (err as Error).message });
    }
  });
}
