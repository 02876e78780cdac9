import { getSemaphore } from '@henrygd/semaphore';
import { type Library, timed, weighed } from './library.js';

const self = { name: '@henrygd/semaphore', role: 'peer' } as const;

// `getSemaphore(key, n)` caches by key; an undefined key defaults to a fresh Symbol(), so each
// trial gets its own semaphore. acquire() resolves to nothing; release() is on the semaphore.
export const henrygdSemaphore: Library = {
  ...self,
  packageName: '@henrygd/semaphore',

  uncontended: () =>
    timed(self, 'await acquire(); release()', (n) => {
      const sem = getSemaphore(undefined, 1);
      return {
        async run() {
          for (let i = 0; i < n; i++) {
            await sem.acquire();
            sem.release();
          }
        },
      };
    }),

  handoff: (limit) =>
    timed(self, 'await acquire(); release()', (n) => {
      const sem = getSemaphore(undefined, limit);
      const task = async (): Promise<void> => {
        await sem.acquire();
        sem.release();
      };
      return {
        async run() {
          const tasks = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) tasks[i] = task();
          await Promise.all(tasks);
        },
        verify: () => (sem.size() === 0 ? undefined : `size ${sem.size()}`),
      };
    }),

  burst: (tasks) => {
    const sem = getSemaphore(undefined, 1);
    return timed(self, 'await acquire(); release()', (n) => {
      const per = Math.ceil(n / tasks);
      const worker = async (): Promise<void> => {
        for (let i = 0; i < per; i++) {
          await sem.acquire();
          sem.release();
        }
      };
      return {
        async run() {
          const all = new Array<Promise<void>>(tasks);
          for (let t = 0; t < tasks; t++) all[t] = worker();
          await Promise.all(all);
        },
        verify: () => (sem.size() === 0 ? undefined : `size ${sem.size()}`),
      };
    });
  },

  waiters: () =>
    weighed(self, 'pending acquire()', (n) => {
      const sem = getSemaphore(undefined, 1);
      void sem.acquire();
      return {
        enqueue(sink) {
          for (let i = 0; i < n; i++) sink[i] = sem.acquire();
        },
        async drain(sink) {
          sem.release();
          for (let i = 0; i < n; i++) {
            await sink[i];
            sem.release();
          }
        },
      };
    }),

  missing: {
    run: 'no run/wrapper function',
    runUncontended: 'no run/wrapper function',
    cancel: 'no timeout, signal or cancel for a queued acquire',
  },
};
