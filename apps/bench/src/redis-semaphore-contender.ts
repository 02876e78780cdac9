// One OS process of `bench:redis-semaphore`'s contended case (forked by redis-semaphore-bench.ts):
// one connection (and, for sluice, one RedisStore) cycling acquire + confirmed release on one
// lock from `startAt` to `endAt` (CLOCK_MONOTONIC, shared by every process on the machine), then
// reporting its cycle count.
import { RedisLock, RedisStore } from '@sluice/redis';
import { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';

export interface ContenderJob {
  library: 'sluice' | 'redis-semaphore';
  url: string;
  name: string;
  startAt: number;
  endAt: number;
}

const clock = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves a release function that resolves once Redis confirmed it. */
type Acquire = () => Promise<() => Promise<unknown>>;

async function run(job: ContenderJob): Promise<number> {
  const client = new Redis(job.url, { lazyConnect: job.library === 'sluice' });
  let acquire: Acquire;
  let close: () => Promise<unknown>;
  if (job.library === 'sluice') {
    const store = new RedisStore({ client, commandTimeout: 2000 });
    const lock = new RedisLock(store, { name: job.name });
    acquire = async () => {
      const permit = await lock.acquire();
      return async () => {
        await permit[Symbol.asyncDispose]();
      };
    };
    close = () => store.close();
  } else {
    acquire = async () => {
      const mutex = new Mutex(client, job.name, { acquireTimeout: 60_000, lockTimeout: 10_000 });
      await mutex.acquire();
      return () => mutex.release();
    };
    close = async () => client.disconnect();
  }
  await (await acquire())(); // connected, scripts loaded, subscribed
  await sleep(Math.max(0, job.startAt - clock()));
  let cycles = 0;
  while (clock() < job.endAt) {
    const release = await acquire();
    cycles++;
    await release();
  }
  await close();
  client.disconnect();
  return cycles;
}

process.once('message', (job: ContenderJob) => {
  run(job).then(
    (cycles) => process.send!({ cycles }, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
process.send!({ ready: true });
