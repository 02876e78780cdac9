// The fault cases for RedisSemaphore: worker OS processes (test/semaphore-worker.ts) and
// in-process stores on one throwaway redis-server, stamps from one clock (CLOCK_MONOTONIC).
// Every wait is bounded in time and count; workers are killed (after SIGCONT) and the server
// resumed also when a test fails. SLUICE_SOAK=1 runs #1 and #12 at the full size.
import { type ChildProcess, fork } from 'node:child_process';
import { UnavailableError } from '@sluice/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LeasedPermit, LeaseLostError, RedisSemaphore, RedisStore } from '../src/index.js';
import { acquireCall, GRANTED, semaphoreKeys } from '../src/internal/semaphore-scripts.js';
import { bundleWorker, packageDir } from './bundle-worker.js';
import {
  clientLibraries,
  eventually,
  keysWithTtl,
  startRedis,
  type TestRedis,
} from './redis-server.js';
import type { SemaphoreJob, Stamp, WorkerMessage } from './semaphore-worker.js';

const SOAK = process.env.SLUICE_SOAK === '1';
let workerFile = '';
const shim = new URL('./shift-clock.mjs', import.meta.url).href;
const clock = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TEN_MINUTES = 10 * 60_000;

let redis: TestRedis;
const children = new Set<ChildProcess>();
const stores: RedisStore[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let names = 0;
const uniqueName = () => `fault${++names}`;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  redis = await startRedis();
  workerFile = await bundleWorker('semaphore-worker');
});
afterEach(async () => {
  redis.resume();
  for (const child of children) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
  children.clear();
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await redis?.stop();
  expect(unhandled).toEqual([]);
});

interface Worker {
  child: ChildProcess;
  /** The next message of `type` (bounded by `ms`). */
  next<T extends WorkerMessage['type']>(
    type: T,
    ms?: number,
  ): Promise<Extract<WorkerMessage, { type: T }>>;
  exited: Promise<void>;
}

async function spawnWorker(library: string, shiftMs = 0): Promise<Worker> {
  const child = fork(workerFile, [], {
    cwd: packageDir,
    execArgv: shiftMs === 0 ? [] : ['--import', shim],
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      SLUICE_LIBRARY: library,
      SLUICE_CLOCK_SHIFT_MS: String(shiftMs),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  const inbox: WorkerMessage[] = [];
  const listeners = new Set<() => void>();
  child.on('message', (m) => {
    inbox.push(m as WorkerMessage);
    for (const l of listeners) l();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const worker: Worker = {
    child,
    exited,
    next(type, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const i = inbox.findIndex((m) => m.type === type);
          if (i < 0) return;
          const [m] = inbox.splice(i, 1);
          done();
          resolve(m as never);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`worker sent no '${type}' within ${ms} ms`));
        }, ms);
        const onExit = () => {
          done();
          reject(new Error(`worker exited before sending '${type}'`));
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
  };
  await worker.next('ready');
  return worker;
}

function kill(worker: Worker): Promise<void> {
  worker.child.kill('SIGCONT');
  worker.child.kill('SIGKILL');
  return worker.exited;
}

function newStore(
  library: (typeof clientLibraries)[number],
  options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {},
) {
  const store = new RedisStore({ client: library.create(redis.url), ...options });
  stores.push(store);
  return store;
}

/** Highest total weight held at any instant, from [granted, released] stamps on one clock. */
function peakWeight(stamps: Stamp[]): number {
  const events = stamps.flatMap((s) => [
    [s.granted, s.weight],
    [s.released, -s.weight],
  ]);
  // At equal times the release comes first: the stamps are taken inside the held interval.
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let held = 0;
  let peak = 0;
  for (const [, delta] of events) {
    held += delta!;
    peak = Math.max(peak, held);
  }
  return peak;
}

/** No key of the limiter is without a TTL (PTTL -1; 0 or -2 is a key expiring or gone). */
async function allKeysExpire(name: string): Promise<void> {
  const keys = await keysWithTtl(redis.admin, `sluice:{${name}}`);
  for (const [key, ttl] of keys) expect({ key, ttl }).not.toEqual({ key, ttl: -1 });
}

const [nodeRedis, ioredis] = clientLibraries;

describe('fault cases', () => {
  it('#1 + #10: a fleet (both clients, wall clocks ±10 min): peak weight <= capacity, grants in ticket order, nothing left', async () => {
    const processes = SOAK ? 20 : 6;
    const count = SOAK ? 200 : 50;
    const name = uniqueName();
    // Ticket order as Redis ran it: MONITOR lists every script call, and every command a script
    // runs, in execution order. An id's first acquire takes its ticket (or is granted at once,
    // with the queue empty); its first ZADD to the holders is its grant, made by whichever
    // script found it at the head (a release, a reap, its own acquire). FIFO: the two orders
    // agree.
    const monitor = await redis.admin.duplicate().monitor();
    const holdersKey = `sluice:{${name}}:holders`;
    const first = new Map<string, number>();
    const granted = new Map<string, number>();
    let position = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      const command = args[0]?.toLowerCase();
      position++;
      if (command === 'zadd' && args[1] === holdersKey) {
        const id = args[3]!;
        if (!granted.has(id)) granted.set(id, position);
        return;
      }
      if ((command !== 'evalsha' && command !== 'eval') || args.length !== 16) return;
      if (args[3] !== holdersKey) return;
      const id = args[10]!;
      if (!first.has(id)) first.set(id, position);
    });
    try {
      const shifts = [0, TEN_MINUTES, -TEN_MINUTES];
      const workers = await Promise.all(
        Array.from({ length: processes }, (_, i) =>
          spawnWorker(i % 2 === 0 ? 'node-redis' : 'ioredis', shifts[i % 3]),
        ),
      );
      const startAt = clock() + 300;
      const job: SemaphoreJob = {
        kind: 'cycle',
        name,
        capacity: 5,
        count,
        maxWeight: 3,
        maxHoldMs: 20,
        abortRate: 0,
        startAt,
      };
      for (const w of workers) w.child.send(job);
      const reports = await Promise.all(
        workers.map((w) => w.next('report', SOAK ? 600_000 : 90_000)),
      );
      expect(reports.flatMap((r) => r.errors)).toEqual([]);
      expect(reports.map((r) => r.unhandled)).toEqual(Array(processes).fill(0));
      // The shim worked: workers 1 and 2 really had their wall clocks 10 minutes off.
      expect(Math.abs(reports[1]!.dateNow - reports[0]!.dateNow - TEN_MINUTES)).toBeLessThan(
        60_000,
      );
      expect(Math.abs(reports[0]!.dateNow - reports[2]!.dateNow - TEN_MINUTES)).toBeLessThan(
        60_000,
      );
      const stamps = reports.flatMap((r) => r.stamps);
      expect(stamps).toHaveLength(processes * count);
      const peak = peakWeight(stamps);
      expect(peak).toBeLessThanOrEqual(5);
      expect(peak).toBeGreaterThanOrEqual(3); // it was really contended
      // Fences: all distinct (strictly increasing in grant order).
      expect(new Set(stamps.map((s) => s.fence)).size).toBe(stamps.length);
      await sleep(100);
      const ids = [...first.keys()];
      expect(ids.length).toBe(processes * count);
      const byTicket = [...ids].sort((a, b) => first.get(a)! - first.get(b)!);
      expect(granted.size).toBe(ids.length);
      const byGrant = [...ids].sort((a, b) => granted.get(a)! - granted.get(b)!);
      expect(byGrant).toEqual(byTicket);
      const sem = new RedisSemaphore(newStore(nodeRedis), { name, capacity: 5 });
      expect(await sem.stats()).toMatchObject({ inUse: 0, waiting: 0, maxInUse: peak });
      await allKeysExpire(name);
      console.log(`#1: ${processes} x ${count} acquires, peak ${peak}/5, ${first.size} tickets`);
    } finally {
      monitor.disconnect();
    }
  }, 120_000);

  it('#2: kill -9 a holder: its weight comes back within lease + one refresh interval', async () => {
    const name = uniqueName();
    const lease = 900;
    const worker = await spawnWorker('ioredis');
    worker.child.send({ kind: 'hold', name, capacity: 2, weight: 2, lease } satisfies SemaphoreJob);
    await worker.next('granted');
    const sem = new RedisSemaphore(newStore(nodeRedis), { name, capacity: 2, lease });
    const waiting = sem.acquire({ weight: 2, timeout: 10_000 });
    await sleep(lease / 2); // a refresh or two have happened
    const killed = clock();
    await kill(worker);
    const permit = await waiting;
    const ms = clock() - killed;
    expect(ms).toBeLessThanOrEqual(lease + lease / 3 + 150);
    expect(await sem.stats()).toMatchObject({ inUse: 2, available: 0 });
    permit.release();
    expect(await eventually(async () => (await sem.stats()).inUse === 0, 2000)).toBe(true);
    console.log(`#2: weight back ${ms.toFixed(0)} ms after kill -9 (lease ${lease} ms)`);
  });

  it('#3: kill -9 the head waiter: the queue stalls at most waiter TTL + one heartbeat', async () => {
    const name = uniqueName();
    const waiterTtl = 600;
    const sem = new RedisSemaphore(newStore(ioredis), { name, capacity: 1, waiterTtl });
    const held = await sem.acquire();
    const worker = await spawnWorker('node-redis');
    worker.child.send({ kind: 'wait', name, capacity: 1, waiterTtl } satisfies SemaphoreJob);
    await worker.next('queued');
    expect(await eventually(async () => (await sem.stats()).waiting === 1, 5000)).toBe(true);
    const behind = sem.acquire({ timeout: 10_000 });
    expect(await eventually(async () => (await sem.stats()).waiting === 2, 5000)).toBe(true);
    const killed = clock();
    await kill(worker);
    held.release();
    const permit = await behind;
    const ms = clock() - killed;
    expect(ms).toBeLessThanOrEqual(waiterTtl + waiterTtl / 3 + 300);
    permit.release();
    console.log(
      `#3: queue moved ${ms.toFixed(0)} ms after the head waiter was killed (waiterTtl ${waiterTtl} ms)`,
    );
  });

  it('#4: kill -9 right after an acquire is sent: never granted, or granted and expired; no leak', async () => {
    const name = uniqueName();
    const lease = 700;
    const delays = [0, 0, 1, 3];
    const workers = await Promise.all(delays.map(() => spawnWorker('ioredis')));
    for (const [i, w] of workers.entries()) {
      const job: SemaphoreJob = {
        kind: 'send-and-die',
        name,
        capacity: 2,
        lease,
        delayMs: delays[i]!,
      };
      w.child.send(job);
    }
    await Promise.all(workers.map((w) => w.exited));
    const sem = new RedisSemaphore(newStore(nodeRedis), { name, capacity: 2, lease });
    // Within a lease plus the waiter TTL everything the dead sent has expired: full capacity.
    const permit = await sem.acquire({ weight: 2, timeout: lease + 3000 + 1000 });
    expect(await sem.stats()).toMatchObject({ inUse: 2, waiting: 0 });
    permit.release();
  });

  it('#5: DEBUG SLEEP past commandTimeout: the acquire rejects as unavailable, no phantom grant stays', async () => {
    const name = uniqueName();
    const store = newStore(ioredis, { commandTimeout: 200, breaker: { threshold: 100 } });
    const sem = new RedisSemaphore(store, { name, capacity: 1 });
    (await sem.acquire()).release();
    const sleeper = redis.admin.duplicate();
    try {
      const slept = sleeper.call('DEBUG', 'SLEEP', '0.6');
      await sleep(20);
      const started = clock();
      const error = await sem.acquire().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect(clock() - started).toBeLessThan(200 + 100);
      await slept;
    } finally {
      sleeper.disconnect();
    }
    // The acquire ran late (stale: it changed nothing) and its idempotent leave followed it.
    expect(await eventually(async () => (await sem.stats()).inUse === 0, 3000)).toBe(true);
    expect((await sem.acquire({ timeout: 0 })).fence).toMatch(/^\d+$/);
  });

  it('#5b: the same permit id sent twice is the same grant (idempotent acquire)', async () => {
    const name = uniqueName();
    const store = newStore(nodeRedis);
    const at = semaphoreKeys(store, name);
    const request = {
      capacity: 2,
      weight: 1,
      id: 'fixed-id-1',
      lease: 5000,
      waiterTtl: 3000,
      queue: true,
      maxWaiting: -1,
    };
    const a = await acquireCall(store, at, request);
    const b = await acquireCall(store, at, request);
    expect(a[0]).toBe(GRANTED);
    expect(b[0]).toBe(GRANTED);
    expect(b[2]).toBe(a[2]); // the same fence
    const sem = new RedisSemaphore(store, { name, capacity: 2 });
    expect(await sem.stats()).toMatchObject({ inUse: 1 });
  });

  for (const library of clientLibraries) {
    it(`#8 (${library.library}): SIGSTOP longer than the lease: holders abort during the pause, nothing is extended after`, async () => {
      const name = uniqueName();
      const lease = 600;
      const store = newStore(library, { commandTimeout: 150 });
      const sem = new RedisSemaphore(store, { name, capacity: 2, lease });
      const permits = [await sem.acquire(), await sem.acquire()];
      const paused = clock();
      redis.pause();
      const abortedAt = await Promise.all(
        permits.map(
          (p) => new Promise<number>((r) => p.signal.addEventListener('abort', () => r(clock()))),
        ),
      );
      // At the local deadline (last confirmed send + 99 % of the lease): well inside the pause.
      for (const at of abortedAt) expect(at - paused).toBeLessThan(lease + 100);
      for (const p of permits) expect(p.signal.reason).toBeInstanceOf(LeaseLostError);
      await sleep(Math.max(0, paused + lease * 1.5 - clock()));
      redis.resume();
      // After the pause Redis has reaped the leases (no refresh extended them): capacity is free.
      const other = new RedisSemaphore(newStore(library), { name, capacity: 2, lease });
      const fresh = await other.acquire({ weight: 2, timeout: 3000 });
      expect(await other.stats()).toMatchObject({ inUse: 2 });
      for (const p of permits) p.release();
      fresh.release();
      console.log(
        `#8 (${library.library}): holders aborted ${(abortedAt[0]! - paused).toFixed(0)} ms into the pause (lease ${lease})`,
      );
    });
  }

  it('#9: a holder that blocks its event loop 1.5 x lease sees the loss; a fenced resource refuses its write', async () => {
    const name = uniqueName();
    const lease = 600;
    // The toy resource: accepts a write only with a fence above the last it accepted.
    let lastFence = 0n;
    const write = (fence: string) => {
      if (BigInt(fence) <= lastFence) return false;
      lastFence = BigInt(fence);
      return true;
    };
    const worker = await spawnWorker('node-redis');
    worker.child.send({
      kind: 'hold',
      name,
      capacity: 1,
      weight: 1,
      lease,
      blockMs: lease * 1.5,
    } satisfies SemaphoreJob);
    const { fence: staleFence } = await worker.next('granted');
    expect(write(staleFence)).toBe(true); // its first write, while it held the lease
    const sem = new RedisSemaphore(newStore(ioredis), { name, capacity: 1, lease });
    const permit = await sem.acquire({ timeout: 5000 });
    expect(write(permit.fence)).toBe(true);
    const woke = await worker.next('woke', 10_000);
    expect(woke).toMatchObject({ aborted: true, reason: 'LeaseLostError' });
    expect(write(woke.fence)).toBe(false); // the stale holder's late write is refused
    permit.release();
  });

  it('#6: Redis restarted without data, 5 holders and 10 waiters: holders abort, waiters re-enqueue, fences stay above', async () => {
    const name = uniqueName();
    const lease = 900;
    const store = newStore(nodeRedis, { commandTimeout: 200, breaker: { threshold: 1000 } });
    const sem = new RedisSemaphore(store, { name, capacity: 5, lease, waiterTtl: 900 });
    const holders = await Promise.all(Array.from({ length: 5 }, () => sem.acquire()));
    const oldMax = holders
      .map((p) => BigInt(p.fence))
      .sort((a, b) => (a < b ? -1 : 1))
      .at(-1)!;
    const granted: LeasedPermit[] = [];
    const waiters = Array.from({ length: 10 }, () =>
      sem.acquire({ timeout: 15_000 }).then((p) => {
        granted.push(p);
        return p;
      }),
    );
    expect(await eventually(async () => (await sem.stats()).waiting === 10, 5000)).toBe(true);
    const restarted = clock();
    await redis.restart();
    const abortedAt = await Promise.all(
      holders.map(
        (p) => new Promise<number>((r) => p.signal.addEventListener('abort', () => r(clock()))),
      ),
    );
    for (const at of abortedAt) expect(at - restarted).toBeLessThan(lease + lease / 3 + 500);
    // The waiters find themselves gone and queue again on the new server; all are served.
    const served = await Promise.all(
      waiters.map((w) =>
        w.then((p) => {
          setTimeout(() => p.release(), 5);
          return p;
        }),
      ),
    );
    expect(served).toHaveLength(10);
    for (const p of granted) expect(BigInt(p.fence)).toBeGreaterThan(oldMax);
    for (const p of holders) p.release();
    await eventually(async () => (await sem.stats()).inUse === 0, 3000);
    console.log(
      `#6: holders aborted ${(Math.max(...abortedAt) - restarted).toFixed(0)} ms after the restart began`,
    );
  });

  it("#7: Redis gone 3 s with 'reject': acquires fail within commandTimeout, holders abort at their local deadline, no burst after", async () => {
    const name = uniqueName();
    const lease = 800;
    const commandTimeout = 150;
    const store = newStore(ioredis, { commandTimeout, breaker: { threshold: 3, coolDown: 300 } });
    const sem = new RedisSemaphore(store, { name, capacity: 3, lease });
    const holder = await sem.acquire();
    const granted = clock();
    await redis.kill();
    const aborted = new Promise<number>((r) =>
      holder.signal.addEventListener('abort', () => r(clock())),
    );
    const outageEnd = clock() + 3000;
    let attempts = 0;
    while (clock() < outageEnd && attempts < 200) {
      attempts++;
      const started = clock();
      const error = await sem.acquire({ timeout: 5000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnavailableError);
      expect(clock() - started).toBeLessThan(commandTimeout + 100);
      await sleep(50);
    }
    // The holder's lease could not be confirmed: aborted by its local deadline, not later.
    expect((await aborted) - granted).toBeLessThan(lease + 50);
    await redis.restart();
    await sleep(300);
    // Nothing sent during the outage ran late on the new server: an acquire would have created
    // the limiter's keys. (Failed acquires' idempotent leaves may still be retried after the
    // restart, backed off; on an empty server they create nothing.)
    expect(await keysWithTtl(redis.admin, `sluice:{${name}}`)).toEqual(new Map());
    expect(
      await eventually(
        async () =>
          await sem.acquire({ timeout: 0 }).then(
            (p) => {
              p.release();
              return true;
            },
            () => false,
          ),
        5000,
        100,
      ),
    ).toBe(true);
    holder.release();
  });

  it('#11: CLIENT KILL TYPE pubsub: waiters progress by poll, the subscriber comes back; SCRIPT FLUSH reaches nobody', async () => {
    const name = uniqueName();
    const here = new RedisSemaphore(newStore(nodeRedis), { name, capacity: 1 });
    const there = new RedisSemaphore(newStore(ioredis), { name, capacity: 1 });
    // Subscribers exist once someone waited.
    const warm = await here.acquire();
    const w = there.acquire();
    await eventually(async () => (await here.stats()).waiting === 1, 3000);
    warm.release();
    (await w).release();
    expect(
      await eventually(
        async () =>
          ((await redis.admin.call('PUBSUB', 'CHANNELS', `sluice:{${name}}:wake:*`)) as unknown[])
            .length >= 1,
        5000,
      ),
    ).toBe(true);
    await redis.admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    const held = await here.acquire();
    const waits = [
      there.acquire({ timeout: 10_000 }),
      here.acquire({ timeout: 10_000 }),
      there.acquire({ timeout: 10_000 }),
    ];
    held.release();
    // Two connections: the three enqueue in whatever order they reach Redis; release on grant.
    await Promise.all(waits.map((p) => p.then((permit) => permit.release())));
    // Both clients subscribe again by themselves.
    expect(
      await eventually(
        async () => {
          const reply = (await redis.admin.call(
            'PUBSUB',
            'CHANNELS',
            `sluice:{${name}}:wake:*`,
          )) as unknown[];
          return reply.length >= 2;
        },
        8000,
        100,
      ),
    ).toBe(true);
    // SCRIPT FLUSH while permits move: no caller sees NOSCRIPT.
    const loops = [here, there].map(async (sem) => {
      for (let i = 0; i < 20; i++) (await sem.acquire({ timeout: 10_000 })).release();
    });
    for (let i = 0; i < 5; i++) {
      await redis.admin.script('FLUSH');
      await sleep(20);
    }
    await Promise.all(loops);
  });

  it('#12: acquires aborted at random, some just as the grant arrives: no leaked holder', async () => {
    const processes = SOAK ? 10 : 4;
    const count = SOAK ? 1000 : 150;
    const name = uniqueName();
    const workers = await Promise.all(
      Array.from({ length: processes }, (_, i) => spawnWorker(i % 2 ? 'ioredis' : 'node-redis')),
    );
    const job: SemaphoreJob = {
      kind: 'cycle',
      name,
      capacity: 3,
      count,
      maxWeight: 2,
      maxHoldMs: 3,
      abortRate: 0.5,
      startAt: clock() + 300,
    };
    for (const w of workers) w.child.send(job);
    const reports = await Promise.all(
      workers.map((w) => w.next('report', SOAK ? 600_000 : 90_000)),
    );
    expect(reports.flatMap((r) => r.errors)).toEqual([]);
    expect(reports.map((r) => r.unhandled)).toEqual(Array(processes).fill(0));
    const aborted = reports.reduce((n, r) => n + r.aborted, 0);
    expect(aborted).toBeGreaterThan(0);
    expect(peakWeight(reports.flatMap((r) => r.stamps))).toBeLessThanOrEqual(3);
    // The workers are still alive (nothing released by a close): Redis holds nothing, queues nothing.
    await sleep(200);
    expect(await redis.admin.zcard(`sluice:{${name}}:holders`)).toBe(0);
    expect(await redis.admin.zcard(`sluice:{${name}}:queue`)).toBe(0);
    expect(Number(await redis.admin.hget(`sluice:{${name}}:data`, 'used'))).toBe(0);
    console.log(`#12: ${processes * count} acquires, ${aborted} aborted, none leaked`);
  }, 120_000);
});
