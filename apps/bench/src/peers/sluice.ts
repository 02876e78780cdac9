import {
  BoundedQueue,
  JobScheduler,
  Lock,
  type Permit,
  Semaphore,
  TokenBucket,
} from '@sluice/core';
import {
  ABORT_REASON,
  gate,
  type Library,
  RESOLVED,
  Tally,
  timed,
  weighed,
  work,
} from './library.js';

const self = { name: '@sluice/core', role: 'sluice' } as const;
const lockSelf = { name: '@sluice/core Lock', role: 'sluice' } as const;

/** Checks a semaphore of capacity 1 is empty, still limits (a second permit is refused) and grants. */
async function stillLimitsAndGrants(sem: Semaphore, holder: Permit): Promise<string | undefined> {
  if (sem.waiting !== 0) return `${sem.waiting} waiters left after abort`;
  holder.release();
  const first = sem.tryAcquire();
  if (!first) return 'no permit granted after release';
  if (sem.tryAcquire()) return 'limit 1 granted two permits';
  const next = sem.acquire();
  first.release();
  const permit = await next;
  permit.release();
  return sem.available === 1 ? undefined : `available ${sem.available} after all released`;
}

export const sluice: Library = {
  ...self,
  packageName: '@sluice/core',

  uncontended: () =>
    timed(self, 'await acquire(); permit.release()', (n) => {
      const sem = new Semaphore(1);
      return {
        async run() {
          for (let i = 0; i < n; i++) {
            const permit = await sem.acquire();
            permit.release();
          }
        },
      };
    }),

  handoff: (limit) =>
    timed(self, 'await acquire(); permit.release()', (n) => {
      const sem = new Semaphore(limit);
      const task = async (): Promise<void> => {
        const permit = await sem.acquire();
        permit.release();
      };
      return {
        async run() {
          const tasks = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) tasks[i] = task();
          await Promise.all(tasks);
        },
        verify: () => (sem.available === limit ? undefined : `available ${sem.available}`),
      };
    }),

  run: (limit) =>
    timed(self, 'sem.run(fn)', (n) => {
      const sem = new Semaphore(limit);
      return {
        async run() {
          const tasks = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) tasks[i] = sem.run(work);
          await Promise.all(tasks);
        },
        verify: () => (sem.available === limit ? undefined : `available ${sem.available}`),
      };
    }),

  runUncontended: () =>
    timed(self, 'await sem.run(fn)', (n) => {
      const sem = new Semaphore(1);
      return {
        async run() {
          for (let i = 0; i < n; i++) await sem.run(work);
        },
        verify: () => (sem.available === 1 ? undefined : `available ${sem.available}`),
      };
    }),

  burst: (tasks) => {
    // One semaphore for every run of the row: long-lived, as in a server.
    const sem = new Semaphore(1);
    return timed(self, 'await acquire(); permit.release()', (n) => {
      const per = Math.ceil(n / tasks);
      const worker = async (): Promise<void> => {
        for (let i = 0; i < per; i++) (await sem.acquire()).release();
      };
      return {
        async run() {
          const all = new Array<Promise<void>>(tasks);
          for (let t = 0; t < tasks; t++) all[t] = worker();
          await Promise.all(all);
        },
        verify: () =>
          sem.available === 1 && sem.waiting === 0
            ? undefined
            : `available ${sem.available}, waiting ${sem.waiting}`,
      };
    });
  },

  cancel: (order) =>
    timed(self, 'acquire({ signal }), abort each', async (n) => {
      const sem = new Semaphore(1);
      const holder = await sem.acquire();
      const controllers = new Array<AbortController>(n);
      const tally = new Tally(n);
      for (let i = 0; i < n; i++) {
        const controller = new AbortController();
        controllers[i] = controller;
        sem.acquire({ signal: controller.signal }).then(tally.onFulfilled, tally.onRejected);
      }
      const sequence = order(n);
      return {
        async run() {
          for (let i = 0; i < n; i++) controllers[sequence[i]!]!.abort(ABORT_REASON);
          await tally.done;
        },
        async verify() {
          if (tally.rejected !== n) return `${tally.rejected}/${n} rejected`;
          return stillLimitsAndGrants(sem, holder);
        },
      };
    }),

  waiters: () =>
    weighed(self, 'pending acquire()', (n) => {
      const sem = new Semaphore(1);
      const holder = sem.tryAcquire()!;
      return {
        enqueue(sink) {
          for (let i = 0; i < n; i++) sink[i] = sem.acquire();
        },
        async drain(sink) {
          holder.release();
          for (let i = 0; i < n; i++) (await (sink[i] as Promise<Permit>)).release();
        },
      };
    }),

  queue: (capacity) =>
    timed(self, 'BoundedQueue put/take', (n) => {
      const queue = new BoundedQueue<number>(capacity);
      let sum = 0;
      return {
        async run() {
          const producer = (async () => {
            for (let i = 0; i < n; i++) await queue.put(i);
          })();
          for (let i = 0; i < n; i++) sum += await queue.take();
          await producer;
        },
        verify: () => (sum === (n * (n - 1)) / 2 ? undefined : `sum ${sum}`),
      };
    }),

  jobs: (limit) =>
    timed(self, 'spawn(fn) ×n; await wait()', (n) => {
      // Unbounded pending, as p-limit and p-queue are: the rows measure the same work.
      const scheduler = new JobScheduler({ limit, pendingLimit: Number.POSITIVE_INFINITY });
      return {
        async run() {
          for (let i = 0; i < n; i++) void scheduler.spawn(work);
          await scheduler.wait();
        },
        verify: () => {
          const s = scheduler.stats();
          return s.fulfilled === n && s.maxActive === limit ? undefined : JSON.stringify(s);
        },
      };
    }),

  pendingJobs: () =>
    weighed(self, 'pending spawn(fn)', (n) => {
      const scheduler = new JobScheduler({ limit: 1, pendingLimit: Number.POSITIVE_INFINITY });
      const blocker = gate();
      void scheduler.spawn(() => blocker.promise);
      return {
        enqueue(sink) {
          for (let i = 0; i < n; i++) sink[i] = scheduler.spawn(work);
        },
        async drain() {
          blocker.open();
          await scheduler.wait();
        },
      };
    }),

  tryTake: (mode) =>
    timed(self, 'TokenBucket tryTake()', (n) => {
      const bucket =
        mode === 'admit'
          ? new TokenBucket({ capacity: 1e9, refillPerSecond: 1e9 })
          : new TokenBucket({ capacity: 1, refillPerSecond: 1 / 60 });
      if (mode === 'refuse') bucket.tryTake();
      let ok = 0;
      return {
        run() {
          for (let i = 0; i < n; i++) if (bucket.tryTake().ok) ok++;
        },
        verify: () => (ok === (mode === 'admit' ? n : 0) ? undefined : `ok ${ok}/${n}`),
      };
    }),
};

const signalSelf = { name: '@sluice/core (fn takes a signal)', role: 'sluice' } as const;
const takesSignal = (_signal: AbortSignal): Promise<void> => RESOLVED;

/**
 * The same jobs, with a function that declares the `signal` parameter, so each job gets an
 * AbortController (~4 µs in Node 20): what cancellable jobs cost, for reference.
 */
export function sluiceSignalJobs(limit: number) {
  return timed(signalSelf, 'spawn((signal) => fn) ×n; await wait()', (n) => {
    const scheduler = new JobScheduler({ limit, pendingLimit: Number.POSITIVE_INFINITY });
    return {
      async run() {
        for (let i = 0; i < n; i++) void scheduler.spawn(takesSignal);
        await scheduler.wait();
      },
      verify: () => (scheduler.stats().fulfilled === n ? undefined : 'not all fulfilled'),
    };
  });
}

/** Lock, the mutex face of Semaphore(1): only the uncontended scenario, for reference. */
export const sluiceLock = {
  uncontended: () =>
    timed(lockSelf, 'await lock.acquire(); permit.release()', (n) => {
      const lock = new Lock();
      return {
        async run() {
          for (let i = 0; i < n; i++) {
            const permit = await lock.acquire();
            permit.release();
          }
        },
      };
    }),
};
