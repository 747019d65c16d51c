/** The layout rules of ARCHITECTURE.md and STYLE.md that code can check. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

describe('layout', () => {
  it('keeps the SDKs (stripe, jsforce, node-zendesk) inside src/connectors', () => {
    const leaks = files(join(root, 'src'))
      .filter((f) => !relative(root, f).startsWith('src/connectors/'))
      .filter((f) => /from '(stripe|jsforce[^']*|node-zendesk[^']*)'/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(leaks).toEqual([]);
  });

  it('keeps the core (src/sync) free of HTTP and of the connectors', () => {
    const leaks = files(join(root, 'src/sync'))
      .filter((f) => /from '(express|pino-http)'|from '\.\.\/(webhooks|connectors|cli)\//.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(leaks).toEqual([]);
  });
});

/** Every relative import of every file under src, as src-relative paths (`import type` included: a type is an arrow too). */
function importGraph(): Map<string, string[]> {
  const all = files(join(root, 'src'));
  const known = new Set(all.map((f) => relative(root, f)));
  const graph = new Map<string, string[]>();
  for (const f of all) {
    const targets = [...readFileSync(f, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.\.?\/[^']+)'/g)]
      .map((m) => relative(root, resolve(dirname(f), m[1]!)).replace(/\.js$/, '.ts'))
      .filter((t) => known.has(t));
    graph.set(relative(root, f), [...new Set(targets)]);
  }
  return graph;
}

/** The arrows between groups of files (`groupOf` null: the file is in no group), each with one import that draws it. */
function folderArrows(
  graph: Map<string, string[]>,
  groupOf: (file: string) => string | null,
): Map<string, Map<string, string>> {
  const arrows = new Map<string, Map<string, string>>();
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = groupOf(from);
      const b = groupOf(to);
      if (a === null || b === null || a === b) continue;
      if (!arrows.has(a)) arrows.set(a, new Map());
      if (!arrows.get(a)!.has(b)) arrows.get(a)!.set(b, `${from} imports ${to}`);
    }
  }
  return arrows;
}

/** The strongly connected components with more than one member (Tarjan), each a cycle said with the imports that draw it. */
function cycles(arrows: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of arrows.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of arrows.keys()) if (!index.has(v)) visit(v);
  return found;
}

const explain = (arrows: Map<string, Map<string, string>>, scc: string[]): string[] =>
  scc.flatMap((a) => scc.filter((b) => arrows.get(a)?.has(b)).map((b) => arrows.get(a)!.get(b)!));

/** src/<folder>/… is <folder>; a file at the top of src (config.ts, daemon.ts…) is its own node. */
const topFolder = (file: string): string => file.split('/')[1]!.replace(/\.ts$/, '');
/** src/sync/<wing>/… is sync/<wing>; the files at the top of src/sync are in no wing. */
const syncWing = (file: string): string | null => {
  const parts = file.split('/');
  return parts[1] === 'sync' && parts.length > 3 ? `sync/${parts[2]}` : null;
};

describe('imports', () => {
  const graph = importGraph();

  it('draws no cycle between files', () => {
    const arrows = new Map([...graph].map(([f, ts]) => [f, new Map(ts.map((t) => [t, `${f} imports ${t}`]))]));
    expect(cycles(arrows).map((scc) => explain(arrows, scc))).toEqual([]);
  });

  it('draws no cycle between the top folders of src (and its top-level files)', () => {
    const arrows = folderArrows(graph, topFolder);
    expect(cycles(arrows).map((scc) => explain(arrows, scc))).toEqual([]);
  });

  it('draws no cycle between the wings of src/sync', () => {
    const arrows = folderArrows(graph, syncWing);
    expect(cycles(arrows).map((scc) => explain(arrows, scc))).toEqual([]);
  });

  it('keeps the kernel at the top of src/sync below the wings: it imports no wing but redis/ (pipeline.ts, which wires them, aside)', () => {
    // The wing test leaves the kernel's files out, so a kernel file importing a wing that imports it would hide a cycle.
    const leaks = [...graph]
      .filter(([f]) => /^src\/sync\/[^/]+\.ts$/.test(f) && f !== 'src/sync/pipeline.ts')
      .flatMap(([f, ts]) =>
        ts.filter((t) => ![null, 'sync/redis'].includes(syncWing(t))).map((t) => `${f} imports ${t}`),
      );
    expect(leaks).toEqual([]);
  });

  it('keeps the admin queries out of the CLI: nothing outside src/cli imports it (the dashboard and the demo share sync/admin)', () => {
    const arrows = folderArrows(graph, topFolder);
    const intoCli = [...arrows].filter(([from, to]) => from !== 'cli' && to.has('cli')).map(([, to]) => to.get('cli'));
    expect(intoCli).toEqual([]);
  });

  it('keeps the core free of the app configuration: nothing in src/sync imports config.ts', () => {
    const leaks = [...graph]
      .filter(([f, ts]) => f.startsWith('src/sync/') && ts.some((t) => /^src\/config[-.]/.test(t)))
      .map(([f]) => f);
    expect(leaks).toEqual([]);
  });
});

describe('queues', () => {
  /** A file that opens a BullMQ Queue itself: `new Queue(`/`new Queue<`, or the class imported as a value (it could be renamed). */
  const opensQueue = (text: string): boolean =>
    /\bnew\s+Queue\s*[<(]/.test(text) ||
    [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'bullmq'/g)].some((m) =>
      m[1]!.split(',').some((name) => /^\s*Queue\b/.test(name)),
    );

  it('opens every BullMQ Queue in src/sync/queues.ts (openQueue, names from QUEUE_NAMES)', () => {
    const openers = files(join(root, 'src'))
      .map((f) => relative(root, f))
      .filter((f) => f !== 'src/sync/queues.ts')
      .filter((f) => opensQueue(readFileSync(join(root, f), 'utf8')));
    expect(openers).toEqual([]);
  });

  it('tells a file that opens a Queue from one that only names its type', () => {
    expect(opensQueue("import { Queue } from 'bullmq';")).toBe(true);
    expect(opensQueue("import { Worker, Queue as Q } from 'bullmq';")).toBe(true);
    expect(opensQueue("import type { Queue } from 'bullmq';\nconst q = new Queue<Job>('events', {});")).toBe(true);
    expect(opensQueue("import { Worker, type Queue } from 'bullmq';")).toBe(false);
    expect(opensQueue("import type { Queue, Job } from 'bullmq';\nconst q: Queue = openQueue('events', r, p);")).toBe(
      false,
    );
  });
});

describe('keyspace', () => {
  it('builds every Redis key and queue name in src/sync/redis/keys.ts (a key is `${prefix}:…`)', () => {
    const builders = files(join(root, 'src'))
      .map((f) => relative(root, f))
      .filter((f) => f !== 'src/sync/redis/keys.ts')
      .filter((f) => /\$\{(?:[\w.]+\.)?prefix\}:/.test(readFileSync(join(root, f), 'utf8')));
    expect(builders).toEqual([]);
  });
});
