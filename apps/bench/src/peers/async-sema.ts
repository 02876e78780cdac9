import { Sema } from 'async-sema';
import { type Library, timed, weighed } from './library.js';

const self = { name: 'async-sema', role: 'peer' } as const;

// `new Sema(n)`: acquire() resolves to a token, release() gives one back.
export const asyncSema: Library = {
  ...self,
  packageName: 'async-sema',

  uncontended: () =>
    timed(self, 'await acquire(); release()', (n) => {
      const sema = new Sema(1);
      return {
        async run() {
          for (let i = 0; i < n; i++) {
            await sema.acquire();
            sema.release();
          }
        },
      };
    }),

  burst: (tasks) => {
    const sema = new Sema(1);
    return timed(self, 'await acquire(); release()', (n) => {
      const per = Math.ceil(n / tasks);
      const worker = async (): Promise<void> => {
        for (let i = 0; i < per; i++) {
          await sema.acquire();
          sema.release();
        }
      };
      return {
        async run() {
          const all = new Array<Promise<void>>(tasks);
          for (let t = 0; t < tasks; t++) all[t] = worker();
          await Promise.all(all);
        },
        verify: () => (sema.nrWaiting() === 0 ? undefined : `${sema.nrWaiting()} waiting`),
      };
    });
  },

  handoff: (limit) =>
    timed(self, 'await acquire(); release()', (n) => {
      const sema = new Sema(limit);
      const task = async (): Promise<void> => {
        await sema.acquire();
        sema.release();
      };
      return {
        async run() {
          const tasks = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) tasks[i] = task();
          await Promise.all(tasks);
        },
        verify: () => (sema.nrWaiting() === 0 ? undefined : `${sema.nrWaiting()} waiting`),
      };
    }),

  waiters: () =>
    weighed(self, 'pending acquire()', (n) => {
      const sema = new Sema(1);
      sema.tryAcquire();
      return {
        enqueue(sink) {
          for (let i = 0; i < n; i++) sink[i] = sema.acquire();
        },
        async drain(sink) {
          sema.release();
          for (let i = 0; i < n; i++) {
            await sink[i];
            sema.release();
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
