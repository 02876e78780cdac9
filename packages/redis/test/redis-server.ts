// A throwaway redis-server for tests: a free loopback port, no persistence, killed at the end
// even when a test fails (and on process exit as a last resort). redis-server cannot take
// `--port 0`, so a free port is found first and the start retried if someone else took it.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createClient } from 'redis';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--enable-debug-command', 'local',
      '--dir', dir,
      '--daemonize', 'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  child.once('exit', () => live.delete(child));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within 10 s:\n${output}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`));
    });
  });
}

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** A plain ioredis client for the test's own commands (INFO, SCAN, SCRIPT FLUSH...). */
  readonly admin: Redis;
  pause(): void;
  resume(): void;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** A fresh, empty server on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, dir);
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }
  const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  await admin.connect();
  let current: ChildProcess = child;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    admin,
    pause: () => current.kill('SIGSTOP'),
    resume: () => current.kill('SIGCONT'),
    async kill() {
      current.kill('SIGCONT');
      current.kill('SIGKILL');
      await exited(current);
    },
    async restart() {
      current.kill('SIGCONT');
      current.kill('SIGKILL');
      await exited(current);
      current = await launch(port, dir);
    },
    async stop() {
      admin.disconnect();
      current.kill('SIGCONT'); // a stopped process cannot act on SIGKILL's cleanup otherwise
      current.kill('SIGKILL');
      await exited(current);
      rmSync(dir, { recursive: true, force: true });
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

/** Every key under `prefix` and its TTL in ms (-1: none, -2: gone). */
export async function keysWithTtl(admin: Redis, prefix: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) found.set(key, await admin.pttl(key));
  } while (cursor !== '0');
  return found;
}

/** Calls of one command since the last CONFIG RESETSTAT, from INFO commandstats. */
export async function commandCalls(admin: Redis, command: string): Promise<number> {
  const info = await admin.info('commandstats');
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return match ? Number(match[1]) : 0;
}
