/**
 * The container files, checked without a Docker engine: the Dockerfile's rules that matter (no
 * hadolint binary can be installed from the registries here), docker-compose.yml's Redis and roles,
 * the runtime stage's file layout actually running the CLI, the image's HEALTHCHECK and SIGTERM
 * against a real daemon, and deploy/ naming only metrics docs/metrics.md documents.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { deleteByPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { loadConfig, PACKAGE_ROOT } from '../../src/config.js';

const root = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(resolve(root, p), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Dockerfile → instructions (comments dropped, `\` continuations joined), each with its stage index. */
function parseDockerfile(text: string): { instructions: Instruction[]; stages: { from: string; name?: string }[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) && current === '') continue;
    if (/^\s*#/.test(line)) continue; // comment inside a continuation
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const stages: { from: string; name?: string }[] = [];
  const instructions: Instruction[] = [];
  for (const l of logical) {
    const m = /^(\w+)\s+([\s\S]*)$/.exec(l);
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ').trim();
    if (keyword === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: f?.[1] ?? args, ...(f?.[2] ? { name: f[2] } : {}) });
    }
    instructions.push({ keyword, args, stage: stages.length - 1 });
  }
  return { instructions, stages };
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const finalStage = dockerfile.stages.length - 1;
const inFinal = (kw: string) => dockerfile.instructions.filter((i) => i.stage === finalStage && i.keyword === kw);
const execForm = (args: string): string[] => JSON.parse(args.replace(/^--\S+\s+/g, '').replace(/^CMD\s+/, ''));
const healthcheckArgs = () => inFinal('HEALTHCHECK')[0]!.args.replace(/^(--\S+=\S+\s+)+/, '');

describe('Dockerfile', () => {
  it('is multi-stage on a pinned node:24-bookworm-slim, never latest', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const s of dockerfile.stages) {
      expect(s.from).toMatch(/^node:24-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
      expect(s.from).not.toMatch(/:latest\b/);
    }
    expect(read('Dockerfile')).not.toMatch(/\blatest\b/);
  });

  it('builds with npm ci (falling back to npm install), compiles, copies the Lua scripts, and prunes dev deps', () => {
    const build = dockerfile.instructions.filter((i) => i.stage < finalStage && i.keyword === 'RUN').map((i) => i.args);
    const all = build.join('\n');
    expect(all).toMatch(/npm ci\b[^\n]*\|\|[^\n]*npm install\b/);
    expect(all).toContain('npm run build');
    // npm run build copies the Lua scripts with scripts/copy-lua.mjs: the build stage must have it.
    expect(JSON.parse(read('package.json')).scripts.build).toBe('tsc -p tsconfig.json && node scripts/copy-lua.mjs');
    const copies = dockerfile.instructions
      .filter((i) => i.stage < finalStage && i.keyword === 'COPY')
      .map((i) => i.args);
    expect(copies).toContain('scripts ./scripts');
    expect(all).toMatch(/npm prune --omit=dev/);
    // The build stage copies the lockfile so that npm ci has something to follow.
    expect(copies.some((c) => c.includes('package-lock.json'))).toBe(true);
  });

  it('copies into the runtime stage only package.json, production node_modules, dist, bin, config, the Salesforce package and the Help Center kit', () => {
    const copied = inFinal('COPY').map((i) => {
      const parts = i.args.split(' ').filter((p) => !p.startsWith('--'));
      return {
        from: /--from=(\S+)/.exec(i.args)?.[1],
        sources: parts.slice(0, -1).map((s) => s.replace(/^\/app\//, '').replace(/\/$/, '')),
      };
    });
    const sources = copied.flatMap((c) => c.sources).sort();
    expect(sources).toEqual(['bin', 'config', 'dist', 'node_modules', 'package.json', 'portal', 'salesforce']);
    // node_modules comes from the build stage, after `npm prune --omit=dev`, never from the context.
    expect(copied.find((c) => c.sources.includes('node_modules'))?.from).toBe(dockerfile.stages[0]!.name);
    expect(inFinal('ADD')).toEqual([]);
    expect(
      inFinal('RUN')
        .map((r) => r.args)
        .join('\n'),
    ).not.toMatch(/npm (ci|install)/);
  });

  it('runs production as the non-root node user behind tini, with the start command', () => {
    expect(
      inFinal('ENV')
        .map((e) => e.args)
        .join(' '),
    ).toMatch(/NODE_ENV=production/);
    const users = inFinal('USER');
    expect(users.at(-1)?.args).toBe('node');
    const runs = inFinal('RUN')
      .map((r) => r.args)
      .join('\n');
    expect(runs).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(runs).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
    expect(execForm(inFinal('ENTRYPOINT').at(-1)!.args)).toEqual(['/usr/bin/tini', '--']);
    expect(execForm(inFinal('CMD').at(-1)!.args)).toEqual(['node', 'bin/portal-sync.js', 'start']);
    expect(inFinal('EXPOSE').map((e) => e.args)).toEqual(['3000']);
  });

  it('every apt-get install in any stage cleans its lists in the same layer', () => {
    for (const r of dockerfile.instructions.filter((i) => i.keyword === 'RUN' && i.args.includes('apt-get install'))) {
      expect(r.args).toMatch(/apt-get update/);
      expect(r.args).toMatch(/--no-install-recommends/);
      expect(r.args).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
    }
  });

  it('has a HEALTHCHECK on /healthz done with node itself (no curl in slim)', () => {
    expect(inFinal('HEALTHCHECK')).toHaveLength(1);
    const cmd = execForm(healthcheckArgs());
    expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
    expect(cmd[2]).toContain('http://127.0.0.1:');
    expect(cmd[2]).toContain('/healthz');
  });

  it('.dockerignore keeps local state and secrets out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const p of ['node_modules', 'dist', '.tools', '.git', 'test-results', '*.log', '.env'])
      expect(ignored).toContain(p);
    // Everything the build needs stays in the context.
    for (const p of ['src', 'scripts', 'bin', 'config', 'package.json', 'package-lock.json', 'tsconfig.json'])
      expect(ignored).not.toContain(p);
  });
});

describe('docker-compose.yml', () => {
  // Merge keys (<<: *anchor) as Compose reads them.
  const compose = parseYaml(read('docker-compose.yml'), { merge: true });
  const services = compose.services;
  const cmdOf = (s: { command: string | string[] }) => (Array.isArray(s.command) ? s.command.join(' ') : s.command);

  it('runs Redis with AOF, fsync every second, noeviction, a named volume and a ping healthcheck', () => {
    const redis = services.redis;
    expect(redis.image).toBe('redis:7-alpine');
    const cmd = cmdOf(redis);
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--appendfsync everysec/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
    const volume = String(redis.volumes[0]).split(':')[0]!;
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(redis.healthcheck.test.join(' ')).toMatch(/redis-cli ping/);
  });

  it('runs the web and worker roles of one image against the redis service', () => {
    const { web, worker } = services;
    expect(web.build).toBe('.');
    expect(cmdOf(web)).toMatch(/bin\/portal-sync\.js start --role web$/);
    expect(cmdOf(worker)).toMatch(/bin\/portal-sync\.js start --role worker$/);
    expect(web.ports).toEqual(['3000:3000']);
    expect(worker.ports).toBeUndefined();
    expect(worker.expose).toEqual(['3001']);
    expect(worker.environment.PORT).toBe('3001');
    for (const s of [web, worker]) {
      expect(s.environment.REDIS_URL).toBe('redis://redis:6379');
      expect(s.env_file).toEqual([{ path: '.env', required: false }]);
      expect(s.depends_on.redis.condition).toBe('service_healthy');
      // Longer than server.shutdownGraceMs (20 s) so the graceful close is not cut by SIGKILL.
      expect(parseInt(s.stop_grace_period, 10)).toBeGreaterThan(20);
    }
    const workerCheck = worker.healthcheck.test.join(' ');
    expect(workerCheck).toContain('http://127.0.0.1:3001/healthz');
  });

  describe('the ha profile', () => {
    const ha = Object.entries(services as Record<string, any>).filter(([, s]) => (s.profiles ?? []).includes('ha'));
    const names = ha.map(([n]) => n).sort();
    const sentinels = names.filter((n) => n.startsWith('sentinel-'));

    it('holds a primary, a replica, three sentinels, two web and two workers, and nothing of the default stack', () => {
      expect(names).toEqual([
        'redis-primary',
        'redis-replica',
        'sentinel-1',
        'sentinel-2',
        'sentinel-3',
        'web-ha',
        'worker-ha',
      ]);
      expect(services['web-ha'].deploy.replicas).toBe(2);
      expect(services['worker-ha'].deploy.replicas).toBe(2);
      for (const plain of ['redis', 'web', 'worker']) expect(services[plain].profiles).toBeUndefined();
    });

    it('runs both Redis nodes with AOF and noeviction, the replica following the primary, each on its own volume', () => {
      const primary = cmdOf(services['redis-primary']);
      const replica = cmdOf(services['redis-replica']);
      for (const cmd of [primary, replica]) {
        expect(cmd).toMatch(/--appendonly yes/);
        expect(cmd).toMatch(/--maxmemory-policy noeviction/);
      }
      expect(replica).toMatch(/--replicaof redis-primary 6379/);
      const volumes = ['redis-primary', 'redis-replica'].map((n) => String(services[n].volumes[0]).split(':')[0]!);
      expect(new Set(volumes).size).toBe(2);
      for (const v of volumes) expect(Object.keys(compose.volumes)).toContain(v);
    });

    it('has three sentinels monitoring the primary with a majority quorum', () => {
      for (const n of sentinels) {
        const script = cmdOf(services[n]);
        expect(script).toMatch(/sentinel monitor portal-sync redis-primary 6379 2/);
        expect(script).toMatch(/redis-server \/data\/sentinel\.conf --sentinel/);
        expect(script).toMatch(/resolve-hostnames yes/);
      }
    });

    it('points every web and worker at all three sentinels by the monitored name, with a config portal-sync accepts', () => {
      for (const n of ['web-ha', 'worker-ha']) {
        const env = services[n].environment;
        expect(
          env.REDIS_SENTINELS.split(',')
            .map((a: string) => a.split(':')[0])
            .sort(),
        ).toEqual(sentinels);
        expect(env.REDIS_SENTINEL_MASTER).toBe('portal-sync');
        expect(env.REDIS_URL).toBeUndefined();
        expect(Object.keys(services[n].depends_on).sort()).toEqual(sentinels);
        // The image holds config/ at /app/config: the same file, checked the way `config check` does.
        const file = env.PORTAL_SYNC_CONFIG.replace(/^\/app\//, '');
        const loaded = loadConfig({ ...env, PORTAL_SYNC_CONFIG: resolve(PACKAGE_ROOT, file) });
        expect(loaded.ok ? [] : loaded.problems).toEqual([]);
        expect(loaded.ok && loaded.config.redis).toMatchObject({
          ackReplicas: 1,
          sentinelMaster: 'portal-sync',
          sentinels: sentinels.map((host) => ({ host, port: 26379 })),
        });
      }
    });
  });
});

describe('the runtime stage layout, without Docker', () => {
  let app: string;
  const node = process.execPath;
  const minimalEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production' });

  beforeAll(() => {
    // What the runtime stage copies: package.json, dist, bin, config, and production node_modules only
    // (the lockfile's non-dev top-level packages, linked from this checkout for speed). dist is built
    // afresh into the copy (the build stage's `npm run build`), never taken from a possibly stale one.
    app = mkdtempSync(join(tmpdir(), 'portal-sync-image-'));
    const build = spawnSync(
      resolve(root, 'node_modules/.bin/tsc'),
      ['-p', resolve(root, 'tsconfig.json'), '--outDir', join(app, 'dist')],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    if (build.status !== 0) throw new Error(`the build failed:\n${build.stdout}${build.stderr}`);
    // npm run build's second step, into the same folder.
    const copy = spawnSync(node, [resolve(root, 'scripts/copy-lua.mjs'), join(app, 'dist')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
    });
    if (copy.status !== 0) throw new Error(`the Lua copy failed:\n${copy.stdout}${copy.stderr}`);
    cpSync(resolve(root, 'package.json'), join(app, 'package.json'));
    for (const dir of ['bin', 'config', 'salesforce', 'portal'])
      cpSync(resolve(root, dir), join(app, dir), { recursive: true });
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
    mkdirSync(join(app, 'node_modules'));
    for (const [key, meta] of Object.entries(lock.packages)) {
      const name = key.slice('node_modules/'.length);
      if (!key.startsWith('node_modules/') || name.includes('node_modules/') || meta.dev) continue;
      const src = resolve(root, key);
      if (!existsSync(src)) continue; // optional binaries of other platforms
      if (name.includes('/')) mkdirSync(join(app, 'node_modules', name.split('/')[0]!), { recursive: true });
      symlinkSync(src, join(app, 'node_modules', name), 'dir');
    }
    // Sanity: a dev-only package is really absent, so a dist import of one would fail here.
    expect(readdirSync(join(app, 'node_modules'))).not.toContain('vitest');
  }, 120_000); // tsc over the whole tree: as long as its own deadline on a loaded machine

  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('dist holds every Lua script under src/, where the compiled loader reads them', () => {
    const lua = readdirSync(resolve(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((p) =>
      p.endsWith('.lua'),
    );
    expect(lua).toContain(join('sync', 'redis', 'scripts', 'call-gate-take-1.lua'));
    for (const file of lua) expect(readFileSync(join(app, 'dist', file), 'utf8')).toBe(read(join('src', file)));
  });

  it('`config check` passes from the copied files, reading config/ relative to the package root', () => {
    const r = spawnSync(node, ['bin/portal-sync.js', 'config', 'check'], {
      cwd: app,
      env: minimalEnv(),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^config ok \(/);
    expect(r.stdout).toContain(join(app, 'config/default.yaml'));
  });

  it('`start --role web` answers the image HEALTHCHECK and exits 0 on SIGTERM', async () => {
    const prefix = uniquePrefix();
    const child = spawn(node, ['bin/portal-sync.js', 'start', '--role', 'web'], {
      cwd: app,
      env: {
        ...minimalEnv(),
        REDIS_URL: redisUrl(),
        REDIS_PREFIX: prefix,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 15_000;
      let url: string | undefined;
      while (!url && Date.now() < deadline) {
        url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1];
        if (!url) await new Promise((r) => setTimeout(r, 100));
      }
      expect(url, out).toBeDefined();
      // The Dockerfile's own HEALTHCHECK command, run as Docker would, with PORT set to the listener's.
      const cmd = execForm(healthcheckArgs());
      const port = new URL(url!).port;
      const check = spawnSync(node, cmd.slice(1), {
        env: { ...minimalEnv(), PORT: port },
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect(check.status, check.stderr).toBe(0);
      const bad = spawnSync(node, cmd.slice(1), {
        env: { ...minimalEnv(), PORT: '1' },
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect(bad.status).toBe(1);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await deleteByPrefix(redisUrl(), prefix);
    }
  });
});

describe('deploy/: alert rules and dashboard', () => {
  const readmeMetrics = (() => {
    const section = /## Metrics\n([\s\S]*?)\n## /.exec(read('docs/metrics.md'))?.[1] ?? '';
    return new Set([...section.matchAll(/`(portal_sync_[a-z0-9_]+)/g)].map((m) => m[1]!));
  })();
  const files = ['deploy/prometheus/alerts.yml', 'deploy/grafana/portal-sync.json'];
  const metricsIn = (text: string) => new Set([...text.matchAll(/\b(portal_sync_[a-z0-9_]+)/g)].map((m) => m[1]!));

  it('uses only metrics listed in the docs/metrics.md Metrics table (histogram series by their base name)', () => {
    expect(readmeMetrics.size).toBeGreaterThan(10);
    for (const f of files) {
      const used = [...metricsIn(read(f))].map((m) =>
        readmeMetrics.has(m) ? m : m.replace(/_(bucket|sum|count)$/, ''),
      );
      expect(used.length, f).toBeGreaterThan(3);
      for (const m of used)
        expect(readmeMetrics.has(m), `${f} uses ${m}, which docs/metrics.md "Metrics" does not list`).toBe(true);
    }
  });

  it('alerts cover lag, dead letters, rejections, Redis and identity conflicts, each saying what to do', () => {
    const rules = parseYaml(read('deploy/prometheus/alerts.yml')).groups.flatMap(
      (g: { rules: unknown[] }) => g.rules,
    ) as {
      alert: string;
      expr: string;
      labels: { severity: string };
      annotations: { summary: string; description: string };
    }[];
    const exprs = rules.map((r) => r.expr).join('\n');
    expect(exprs).toContain('portal_sync_queue_oldest_waiting_seconds');
    expect(exprs).toMatch(/portal_sync_queue_jobs\{state="failed"\}/);
    expect(exprs).toMatch(/rate\(portal_sync_webhook_rejections_total/);
    expect(exprs).toMatch(/reason="redis_unavailable"/);
    expect(exprs).toMatch(/increase\(portal_sync_identity_conflicts_total/);
    for (const r of rules) {
      expect(r.alert).toMatch(/^PortalSync[A-Za-z]+$/);
      expect(['info', 'warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      expect(r.annotations.description).toMatch(/portal-sync |\/readyz|REDIS_URL/);
    }
    const dlq = rules.find((r) => r.expr.includes('state="failed"'))!;
    expect(dlq.annotations.description).toContain('portal-sync dlq list');
    // Every command an alert tells you to run is one the README lists.
    const commands = read('README.md');
    for (const r of rules)
      for (const m of r.annotations.description.matchAll(/`portal-sync ([a-z]+)/g))
        expect(commands).toContain(`portal-sync ${m[1]}`);
  });

  it('promtool accepts the rules (when promtool is installed)', ({ skip }) => {
    const which = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (which.error) skip('promtool not on PATH');
    const r = spawnSync('promtool', ['check', 'rules', resolve(root, 'deploy/prometheus/alerts.yml')], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('the dashboard is importable JSON with the panels docs/metrics.md promises', () => {
    const dash = JSON.parse(read('deploy/grafana/portal-sync.json')) as {
      uid: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dash.uid).toBe('portal-sync');
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const m of [
      'portal_sync_webhook_events_total',
      'portal_sync_ingest_duration_seconds_bucket',
      'portal_sync_queue_oldest_waiting_seconds',
      'portal_sync_queue_jobs',
      'portal_sync_pushes_total',
      'portal_sync_identity_conflicts_total',
    ]) {
      expect(exprs).toContain(m);
    }
    const ids = dash.panels.map((p) => (p as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
