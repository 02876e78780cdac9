// One OS process of the semaphore fault tests (bundled by semaphore-faults.test.ts, run by plain
// node): one RedisStore over the library in SLUICE_LIBRARY, doing the job the parent sends.
// Times are CLOCK_MONOTONIC (process.hrtime), one clock for every process on the machine.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { type LeasedPermit, RedisSemaphore, RedisStore } from '../src/index.js';

export type SemaphoreJob =
  | {
      kind: 'cycle';
      name: string;
      capacity: number;
      count: number;
      maxWeight: number;
      maxHoldMs: number;
      /** Share of acquires aborted at a random moment (some just as the grant arrives). */
      abortRate: number;
      startAt: number;
    }
  | {
      kind: 'hold';
      name: string;
      capacity: number;
      weight: number;
      lease: number;
      blockMs?: number;
    }
  | { kind: 'wait'; name: string; capacity: number; waiterTtl: number }
  | { kind: 'send-and-die'; name: string; capacity: number; lease: number; delayMs: number };

export interface Stamp {
  weight: number;
  granted: number;
  released: number;
  fence: string;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'granted'; fence: string }
  | { type: 'woke'; aborted: boolean; reason: string; fence: string }
  | { type: 'queued' }
  | {
      type: 'report';
      stamps: Stamp[];
      aborted: number;
      errors: string[];
      unhandled: number;
      dateNow: number;
    };

const clock = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const send = (message: WorkerMessage) => process.send!(message);
let unhandled = 0;
process.on('unhandledRejection', () => unhandled++);

const url = process.env.REDIS_URL!;
const client =
  process.env.SLUICE_LIBRARY === 'ioredis'
    ? new Redis(url, { lazyConnect: true })
    : createClient({ url });
const store = new RedisStore({ client, commandTimeout: 2000 });

async function cycle(job: Extract<SemaphoreJob, { kind: 'cycle' }>): Promise<void> {
  const sem = new RedisSemaphore(store, { name: job.name, capacity: job.capacity });
  const stamps: Stamp[] = [];
  const errors: string[] = [];
  const confirmations: Promise<void>[] = [];
  let aborted = 0;
  await sleep(Math.max(0, job.startAt - clock()));
  for (let i = 0; i < job.count; i++) {
    const weight = 1 + Math.floor(Math.random() * job.maxWeight);
    const controller = new AbortController();
    if (Math.random() < job.abortRate) {
      // Anywhere from at once to a few round trips: some of these land just as the grant does.
      const at = Math.random() * 6;
      if (at < 1) queueMicrotask(() => controller.abort());
      else setTimeout(() => controller.abort(), at);
    }
    let permit: LeasedPermit;
    try {
      permit = await sem.acquire({ weight, signal: controller.signal });
    } catch (error) {
      if (controller.signal.aborted) aborted++;
      else errors.push(String(error));
      continue;
    }
    const granted = clock();
    await sleep(Math.random() * job.maxHoldMs);
    const released = clock();
    confirmations.push(Promise.resolve(permit[Symbol.asyncDispose]()));
    stamps.push({ weight, granted, released, fence: permit.fence });
  }
  await Promise.all(confirmations);
  send({ type: 'report', stamps, aborted, errors, unhandled, dateNow: Date.now() });
}

async function hold(job: Extract<SemaphoreJob, { kind: 'hold' }>): Promise<void> {
  const sem = new RedisSemaphore(store, {
    name: job.name,
    capacity: job.capacity,
    lease: job.lease,
  });
  const permit = await sem.acquire({ weight: job.weight });
  send({ type: 'granted', fence: permit.fence });
  if (job.blockMs !== undefined) {
    // A stall of our own: the event loop does nothing else (no refresh, no timer) meanwhile.
    const end = clock() + job.blockMs;
    while (clock() < end) {}
    // Let the overdue timers and replies run, then say what the permit knows.
    await sleep(50);
    send({
      type: 'woke',
      aborted: permit.signal.aborted,
      reason: String((permit.signal.reason as Error | undefined)?.name),
      fence: permit.fence,
    });
  }
}

async function wait(job: Extract<SemaphoreJob, { kind: 'wait' }>): Promise<void> {
  const sem = new RedisSemaphore(store, {
    name: job.name,
    capacity: job.capacity,
    waiterTtl: job.waiterTtl,
  });
  const pending = sem.acquire();
  pending.catch(() => {});
  send({ type: 'queued' });
}

function sendAndDie(job: Extract<SemaphoreJob, { kind: 'send-and-die' }>): void {
  const sem = new RedisSemaphore(store, {
    name: job.name,
    capacity: job.capacity,
    lease: job.lease,
  });
  sem.acquire().catch(() => {});
  if (job.delayMs === 0) process.kill(process.pid, 'SIGKILL');
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), job.delayMs);
}

process.on('message', (job: SemaphoreJob) => {
  const work =
    job.kind === 'cycle'
      ? cycle(job)
      : job.kind === 'hold'
        ? hold(job)
        : job.kind === 'wait'
          ? wait(job)
          : Promise.resolve(sendAndDie(job));
  work.catch((error) => {
    console.error(error);
    process.exit(1);
  });
});

// Connected and scripts loaded before "ready", so that no worker gets a head start.
// Every script is loaded too: a first EVALSHA answered NOSCRIPT would show up in MONITOR.
const warmUp = new RedisSemaphore(store, { name: `warm-up-${process.pid}`, capacity: 1 });
warmUp
  .acquire()
  .then((p) => p[Symbol.asyncDispose]())
  .then(() => warmUp.stats())
  .then(
    () => send({ type: 'ready' }),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
