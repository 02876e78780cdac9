// One OS process of `bench:redis-semaphore`'s contended case (forked by redis-semaphore-bench.ts):
// one connection (and, for sluice, one RedisStore) cycling acquire + confirmed release: on a
// warm-up lock (`${name}:warm`, contended by the same processes) until `warmUntil`, then on the
// lock from `startAt` to `endAt` (CLOCK_MONOTONIC, shared by every process on the machine), then
// reporting its cycle count.
import { RedisLock, RedisStore } from '@sluice/redis';
import { Redis } from 'ioredis';
import { Mutex } from 'redis-semaphore';

export interface ContenderJob {
  library: 'sluice' | 'redis-semaphore';
  url: string;
  name: string;
  warmUntil: number;
  startAt: number;
  endAt: number;
}

const clock = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves a release function that resolves once Redis confirmed it. */
type Acquire = () => Promise<() => Promise<unknown>>;

async function run(job: ContenderJob): Promise<number> {
  const client = new Redis(job.url, { lazyConnect: job.library === 'sluice' });
  let lockOf: (name: string) => Acquire;
  let close: () => Promise<unknown>;
  if (job.library === 'sluice') {
    const store = new RedisStore({ client, commandTimeout: 2000 });
    lockOf = (name) => {
      const lock = new RedisLock(store, { name });
      return async () => {
        const permit = await lock.acquire();
        return async () => {
          await permit[Symbol.asyncDispose]();
        };
      };
    };
    close = () => store.close();
  } else {
    lockOf = (name) => async () => {
      const mutex = new Mutex(client, name, { acquireTimeout: 60_000, lockTimeout: 10_000 });
      await mutex.acquire();
      return () => mutex.release();
    };
    close = async () => client.disconnect();
  }
  const warm = lockOf(`${job.name}:warm`);
  while (clock() < job.warmUntil) await (await warm())();
  const acquire = lockOf(job.name);
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
