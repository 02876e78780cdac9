// A throwaway redis-server per test file (scripts/redis-server.mjs: a free loopback port, no
// persistence, killed at the end even when a test fails), plus a plain client for the test's
// own commands.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { type RedisServer, startRedisServer } from '../../../scripts/redis-server.mjs';

export interface TestRedis extends RedisServer {
  /** A plain ioredis client for the test's own commands (INFO, SCAN, SCRIPT FLUSH...). */
  readonly admin: Redis;
}

export async function startRedis(): Promise<TestRedis> {
  const server = await startRedisServer();
  const admin = new Redis({
    port: server.port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  admin.on('error', () => {});
  await admin.connect();
  return {
    ...server,
    admin,
    async stop() {
      admin.disconnect();
      await server.stop();
    },
  };
}

/** The two client libraries every behaviour test runs over. The store duplicates the client. */
export const clientLibraries = [
  { library: 'node-redis', create: (url: string) => createClient({ url }) },
  { library: 'ioredis', create: (url: string) => new Redis(url, { lazyConnect: true }) },
] as const;

/** Polls `check` every `everyMs` until it returns true; false after `timeoutMs` (bounded). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 20,
): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

/** Every key under `prefix` and its TTL in ms (-1: none); keys that expire meanwhile are left out. */
export async function keysWithTtl(admin: Redis, prefix: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const ttl = await admin.pttl(key);
      if (ttl !== -2) found.set(key, ttl); // -2: it expired between SCAN and PTTL
    }
  } while (cursor !== '0');
  return found;
}

/** Calls of one command since the last CONFIG RESETSTAT, from INFO commandstats. */
export async function commandCalls(admin: Redis, command: string): Promise<number> {
  const info = await admin.info('commandstats');
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return match ? Number(match[1]) : 0;
}
