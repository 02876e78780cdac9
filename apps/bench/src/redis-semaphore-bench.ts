// `pnpm --filter @sluice/bench bench:redis-semaphore`: @sluice/redis's RedisSemaphore/RedisLock
// side by side with redis-semaphore (5.x, ioredis) on one throwaway redis-server. Short runs:
//   1. uncontended acquire + release: commands sent per cycle (MONITOR) and time;
//   2. hand-off latency: a release on one connection to the grant on another (p50, p99);
//   3. contended cycles per second on one lock: 4 contenders as 4 OS processes (the issue's
//      setting: each process its own event loop), and 4 connections in this one process.
// The hand-off is timed between two connections of this process (one clock).
// Prints markdown on stdout, progress on stderr. Figures on a loaded machine are indicative.
// Every timed part starts warm: V8 needs a few thousand cycles before a cycle costs what it does
// in a long-running process (the first thousand are about twice as slow), so each library first
// cycles for --warmup ms (uncontended, and each contender process on a lock of its own kind).
//
//   node --import tsx src/redis-semaphore-bench.ts [--seconds 2] [--handoffs 100] [--warmup 1000]
import { fork } from 'node:child_process';
import { RedisLock, RedisStore } from '@sluice/redis';
import { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';
import { startRedisServer } from '../../../scripts/redis-server.mjs';
import { numberFlag } from './args.js';
import { environment } from './env.js';
import type { ContenderJob } from './redis-semaphore-contender.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => numberFlag(argv, name, fallback);
const SECONDS = flag('seconds', 2);
const HANDOFFS = flag('handoffs', 100);
const WARMUP = flag('warmup', 1000);
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

/** One contender: acquire resolves a release function (which resolves once confirmed). */
type Acquire = () => Promise<() => Promise<unknown>>;
interface Peer {
  name: string;
  library: ContenderJob['library'];
  /** A contender on a new connection of its own. */
  contender(): Acquire;
}

const clock = () => Number(process.hrtime.bigint()) / 1e6;

/** Cycles per second of `library` with `count` contender processes on one lock. */
async function contendedProcesses(
  library: ContenderJob['library'],
  url: string,
  name: string,
  count: number,
): Promise<number> {
  const children = Array.from({ length: count }, () =>
    fork(new URL('./redis-semaphore-contender.ts', import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const next = (child: (typeof children)[number]) =>
    new Promise<{ ready?: boolean; cycles?: number }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { cycles?: number }));
      child.once('exit', (code) => reject(new Error(`contender exited with ${code}`)));
    });
  try {
    await Promise.all(children.map(next));
    // Every process has loaded (tsx start-up takes about a second); they warm up contending on
    // another lock until warmUntil, then start together.
    const warmUntil = clock() + 500 + WARMUP;
    const startAt = warmUntil + 500;
    const endAt = startAt + SECONDS * 1000;
    const reports = children.map(next);
    for (const child of children)
      child.send({ library, url, name, warmUntil, startAt, endAt } satisfies ContenderJob);
    const cycles = (await Promise.all(reports)).reduce((n, r) => n + (r.cycles ?? 0), 0);
    return cycles / SECONDS;
  } finally {
    for (const child of children) child.kill();
  }
}

/** Commands clients sent (MONITOR, without those run inside scripts) while `work` ran. */
async function commandsSent(admin: Redis, work: () => Promise<void>): Promise<number> {
  const monitor = await admin.duplicate().monitor();
  let sent = 0;
  monitor.on('monitor', (_time: string, _args: string[], source: string) => {
    if (!String(source).startsWith('lua')) sent++;
  });
  try {
    await sleep(50);
    await work();
    await sleep(50);
  } finally {
    monitor.disconnect();
  }
  return sent;
}

async function main() {
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  const closers: Array<() => unknown> = [];
  let lockNames = 0;
  try {
    const sluice = (name: string): Peer => ({
      name: '@sluice/redis RedisLock',
      library: 'sluice',
      contender() {
        const client = new Redis(server.url, { lazyConnect: true });
        const store = new RedisStore({ client, commandTimeout: 2000 });
        closers.push(
          () => store.close(),
          () => client.disconnect(),
        );
        const lock = new RedisLock(store, { name });
        return async () => {
          const permit = await lock.acquire();
          return async () => {
            await permit[Symbol.asyncDispose]();
          };
        };
      },
    });
    const peer = (name: string): Peer => ({
      name: 'redis-semaphore Mutex (retryInterval 10 ms)',
      library: 'redis-semaphore',
      contender() {
        const client = new Redis(server.url);
        closers.push(() => client.disconnect());
        return async () => {
          const mutex = new Mutex(client, name, { acquireTimeout: 60_000, lockTimeout: 10_000 });
          await mutex.acquire();
          return () => mutex.release();
        };
      },
    });
    const makers = [sluice, peer];

    log('1. uncontended acquire + release');
    const uncontended: string[] = [];
    for (const make of makers) {
      const p = make(`u${++lockNames}`);
      const acquire = p.contender();
      // Warm-up (scripts loaded, V8 optimised), the same time for both libraries.
      for (const until = performance.now() + WARMUP; performance.now() < until; ) {
        await (await acquire())();
      }
      const cycles = 2000;
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < cycles; i++) await (await acquire())();
      const us = ((performance.now() - start) * 1000) / cycles;
      const used = process.cpuUsage(cpu);
      const cpuUs = (used.user + used.system) / cycles;
      const sent =
        (await commandsSent(admin, async () => {
          for (let i = 0; i < 100; i++) await (await acquire())();
        })) / 100;
      uncontended.push(
        `| ${p.name} | ${sent.toFixed(2)} | ${us.toFixed(0)} | ${cpuUs.toFixed(0)} |`,
      );
    }

    log('2. hand-off latency');
    const handoff: string[] = [];
    for (const make of makers) {
      const p = make(`h${++lockNames}`);
      const [a, b] = [p.contender(), p.contender()];
      const latencies: number[] = [];
      for (let i = 0; i < HANDOFFS + 5; i++) {
        const release = await a();
        let granted = 0;
        const waiting = b().then((r) => {
          granted = performance.now();
          return r;
        });
        // Queued (sluice) or polling (redis-semaphore); a random pause, so as not to line up
        // with the peer's 10 ms poll.
        await sleep(20 + Math.random() * 20);
        const released = performance.now();
        void release();
        const releaseB = await waiting;
        if (i >= 5) latencies.push(granted - released);
        await releaseB();
      }
      handoff.push(
        `| ${p.name} | ${percentile(latencies, 0.5).toFixed(2)} | ${percentile(latencies, 0.99).toFixed(2)} |`,
      );
    }

    log('3. contended cycles per second, 4 processes');
    const contended: string[] = [];
    const processRates = new Map<string, number>();
    for (const make of makers) {
      const { library } = make('');
      processRates.set(
        library,
        await contendedProcesses(library, server.url, `p${++lockNames}`, 4),
      );
    }
    log('   and 4 connections in one process');
    for (const make of makers) {
      const p = make(`c${++lockNames}`);
      const contenders = Array.from({ length: 4 }, () => p.contender());
      for (const c of contenders) await (await c())();
      let cycles = 0;
      const end = performance.now() + SECONDS * 1000;
      const start = performance.now();
      await Promise.all(
        contenders.map(async (acquire) => {
          while (performance.now() < end) {
            const release = await acquire();
            cycles++;
            await release();
          }
        }),
      );
      const inOne = cycles / ((performance.now() - start) / 1000);
      contended.push(
        `| ${p.name} | ${processRates.get(p.library)?.toFixed(0)} | ${inOne.toFixed(0)} |`,
      );
    }

    const env = environment();
    console.log('## RedisLock vs redis-semaphore\n');
    console.log(
      `Run ${new Date().toISOString()}: ${env.cpu} x${env.cores}, Node ${env.node}, load average ${env.loadAverage} at start; redis-server on loopback.\n`,
    );
    console.log(
      `Uncontended acquire + confirmed release, sequential, 2000 cycles after ${WARMUP} ms of warm-up:\n`,
    );
    console.log(
      '| limiter | commands sent per cycle | µs per cycle | client CPU µs per cycle |\n| --- | --- | --- | --- |',
    );
    console.log(uncontended.join('\n'));
    console.log(
      `\nHand-off: release on one connection to grant on another, ${HANDOFFS} times (ms):\n`,
    );
    console.log('| limiter | p50 | p99 |\n| --- | --- | --- |');
    console.log(handoff.join('\n'));
    console.log(
      `\nContended: 4 contenders on one lock for ${SECONDS} s, as 4 processes and as 4 connections in one process:\n`,
    );
    console.log('| limiter | cycles/s, 4 processes | cycles/s, 1 process |\n| --- | --- | --- |');
    console.log(contended.join('\n'));
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {}
    }
    admin.disconnect();
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
