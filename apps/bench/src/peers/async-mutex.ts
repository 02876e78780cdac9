import { Semaphore } from 'async-mutex';
import { type Library, timed, weighed, work } from './library.js';

const self = { name: 'async-mutex', role: 'peer' } as const;

// `new Semaphore(n)`: acquire() resolves to [value, releaser]; runExclusive(fn) is its wrapper.
// Its only cancellation is cancel(), which rejects ALL waiters: no per-waiter signal or
// timeout (withTimeout() bounds every acquire alike), so the cancellation scenario is n/a.
export const asyncMutex: Library = {
  ...self,
  packageName: 'async-mutex',

  uncontended: () =>
    timed(self, 'const [, release] = await acquire(); release()', (n) => {
      const sem = new Semaphore(1);
      return {
        async run() {
          for (let i = 0; i < n; i++) {
            const [, release] = await sem.acquire();
            release();
          }
        },
      };
    }),

  handoff: (limit) =>
    timed(self, 'const [, release] = await acquire(); release()', (n) => {
      const sem = new Semaphore(limit);
      const task = async (): Promise<void> => {
        const [, release] = await sem.acquire();
        release();
      };
      return {
        async run() {
          const tasks = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) tasks[i] = task();
          await Promise.all(tasks);
        },
        verify: () => (sem.getValue() === limit ? undefined : `value ${sem.getValue()}`),
      };
    }),

  run: (limit) =>
    timed(self, 'sem.runExclusive(fn)', (n) => {
      const sem = new Semaphore(limit);
      return {
        async run() {
          const tasks = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) tasks[i] = sem.runExclusive(work);
          await Promise.all(tasks);
        },
        verify: () => (sem.getValue() === limit ? undefined : `value ${sem.getValue()}`),
      };
    }),

  runUncontended: () =>
    timed(self, 'await sem.runExclusive(fn)', (n) => {
      const sem = new Semaphore(1);
      return {
        async run() {
          for (let i = 0; i < n; i++) await sem.runExclusive(work);
        },
        verify: () => (sem.getValue() === 1 ? undefined : `value ${sem.getValue()}`),
      };
    }),

  burst: (tasks) => {
    const sem = new Semaphore(1);
    return timed(self, 'const [, release] = await acquire(); release()', (n) => {
      const per = Math.ceil(n / tasks);
      const worker = async (): Promise<void> => {
        for (let i = 0; i < per; i++) {
          const [, release] = await sem.acquire();
          release();
        }
      };
      return {
        async run() {
          const all = new Array<Promise<void>>(tasks);
          for (let t = 0; t < tasks; t++) all[t] = worker();
          await Promise.all(all);
        },
        verify: () => (sem.getValue() === 1 ? undefined : `value ${sem.getValue()}`),
      };
    });
  },

  waiters: () =>
    weighed(self, 'pending acquire()', (n) => {
      const sem = new Semaphore(1);
      const first = sem.acquire();
      return {
        enqueue(sink) {
          for (let i = 0; i < n; i++) sink[i] = sem.acquire();
        },
        async drain(sink) {
          (await first)[1]();
          for (let i = 0; i < n; i++) {
            const [, release] = await (sink[i] as ReturnType<Semaphore['acquire']>);
            release();
          }
        },
      };
    }),

  missing: {
    cancel: 'cancel() rejects every waiter at once; no per-waiter signal',
  },
};
