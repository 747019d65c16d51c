/**
 * Tests need a real Redis. Use REDIS_URL (default 127.0.0.1:6379) when it
 * answers; otherwise start a private in-memory redis-server for this run.
 * Every test works under its own key prefix and deletes what it created.
 * The CLI tests run the built CLI (test/support/cli.ts): it is built here
 * first, once per run, so they never run an older build.
 */
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { redisAnswers, redisServerOnPath, startPrivateRedis } from '../src/sync/redis/private-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: new URL('..', import.meta.url), stdio: 'inherit' });
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await redisAnswers(url)) {
    project.provide('redisUrl', url);
    return () => undefined;
  }
  if (!redisServerOnPath())
    throw new Error(`tests need Redis: nothing answers at ${url} and redis-server is not on PATH`);
  const redis = await startPrivateRedis();
  process.stderr.write(`tests: no Redis at ${url}; using a private redis-server at ${redis.url}\n`);
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
