// One OS process of the fleet tests (bundled by fleet.test.ts, run by plain node): a RedisStore per client library on one Redis, doing what
// the parent asks once it says "go", then reporting what it saw. Times are CLOCK_MONOTONIC
// (process.hrtime), the same clock in every process of the machine, and unaffected by the
// Date shift some workers get.
import { type Redis as IoRedis, Redis } from 'ioredis';
import { createClient } from 'redis';
import { RedisKeyedTokenBucket, RedisStore } from '../src/index.js';

/** `startAt`: when every worker starts, on the shared monotonic clock (set by the parent). */
export type Job =
  | {
      kind: 'hammer';
      name: string;
      durationMs: number;
      capacity: number;
      rate: number;
      loops: number;
    }
  | { kind: 'take'; name: string; durationMs: number; capacity: number; rate: number }
  | { kind: 'burst'; name: string; capacity: number; rate: number; calls: number };
export type StartedJob = Job & { startAt: number };

export interface LoopReport {
  library: string;
  /** [sent, settled] in ms of every admitted call. */
  admitted: Array<[number, number]>;
  refused: number;
  errors: string[];
}

export interface WorkerReport {
  pid: number;
  dateNow: number;
  loops: LoopReport[];
  burst?: Array<{ ok: boolean; remaining?: number; retryAfterMs?: number }>;
  unhandled: number;
}

const clock = () => Number(process.hrtime.bigint()) / 1e6;
let unhandled = 0;
process.on('unhandledRejection', () => unhandled++);

const url = process.env.REDIS_URL!;
const libraries = [
  { library: 'node-redis', create: () => createClient({ url }) },
  { library: 'ioredis', create: (): IoRedis => new Redis(url, { lazyConnect: true }) },
];

// Connected and warmed up before saying "ready", so that every worker starts deciding at the
// parent's `startAt`, not when its connections happen to come up.
const stores = libraries.map(({ library, create }) => ({
  library,
  store: new RedisStore({ client: create(), commandTimeout: 2000 }),
}));

async function warmUp(): Promise<void> {
  for (const { store } of stores) {
    const bucket = new RedisKeyedTokenBucket(store, {
      name: 'warm-up',
      capacity: 1,
      refillPerSecond: 1000,
    });
    await bucket.tryTake(String(process.pid));
  }
}

async function run(job: StartedJob): Promise<WorkerReport> {
  const report: WorkerReport = { pid: process.pid, dateNow: Date.now(), loops: [], unhandled: 0 };
  try {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, job.startAt - clock())));
    if (job.kind === 'burst') {
      // Only the first library: the burst is a sequence whose answers are compared exactly.
      const bucket = new RedisKeyedTokenBucket(stores[0]!.store, {
        name: `${job.name}${process.env.SLUICE_CLOCK_SHIFT_MS}`,
        capacity: job.capacity,
        refillPerSecond: job.rate,
      });
      report.burst = [];
      for (let i = 0; i < job.calls; i++) report.burst.push(await bucket.tryTake('burst'));
      return report;
    }
    const end = job.startAt + job.durationMs;
    const loops: Promise<void>[] = [];
    for (const { library, store } of stores) {
      const bucket = new RedisKeyedTokenBucket(store, {
        name: job.name,
        capacity: job.capacity,
        refillPerSecond: job.rate,
      });
      const count = job.kind === 'hammer' ? job.loops : 1;
      for (let i = 0; i < count; i++) {
        const loop: LoopReport = { library, admitted: [], refused: 0, errors: [] };
        report.loops.push(loop);
        loops.push(
          (async () => {
            while (clock() < end) {
              const sent = clock();
              try {
                if (job.kind === 'take') {
                  await bucket.take('shared');
                  loop.admitted.push([sent, clock()]);
                } else {
                  const r = await bucket.tryTake('shared');
                  if (r.ok) loop.admitted.push([sent, clock()]);
                  else loop.refused++;
                  await new Promise((resolve) => setTimeout(resolve, 1));
                }
              } catch (error) {
                loop.errors.push(String(error));
                if (loop.errors.length > 20) return;
              }
            }
          })(),
        );
      }
    }
    await Promise.all(loops);
    return report;
  } finally {
    await Promise.all(stores.map(({ store }) => store.close()));
    report.unhandled = unhandled;
  }
}

process.once('message', (job: StartedJob) => {
  run(job).then(
    (report) => process.send!(report, () => process.exit(0)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
});
warmUp().then(
  () => process.send!('ready'),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
