import pLimit from 'p-limit';
import { gate, type Library, timed, weighed, work } from './library.js';

const self = { name: 'p-limit', role: 'peer' } as const;

// p-limit is only a run-wrapper: `limit(fn)`. No acquire/release, so the acquire scenarios are
// n/a; clearQueue() drops every pending task at once, so per-waiter cancellation is n/a too.
// Its queued tasks are its waiters, so the heap scenario weighs pending `limit(fn)` calls.
export const pLimitLib: Library = {
  ...self,
  packageName: 'p-limit',

  run: (limit) =>
    timed(self, 'limit(fn)', (n) => {
      const limited = pLimit(limit);
      return {
        async run() {
          const tasks = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) tasks[i] = limited(work);
          await Promise.all(tasks);
        },
        verify: () => (limited.activeCount === 0 ? undefined : `active ${limited.activeCount}`),
      };
    }),

  runUncontended: () =>
    timed(self, 'await limit(fn)', (n) => {
      const limited = pLimit(1);
      return {
        async run() {
          for (let i = 0; i < n; i++) await limited(work);
        },
        verify: () => (limited.activeCount === 0 ? undefined : `active ${limited.activeCount}`),
      };
    }),

  waiters: () =>
    weighed(self, 'pending limit(fn)', (n) => {
      const limited = pLimit(1);
      const blocker = gate();
      const first = limited(() => blocker.promise);
      return {
        enqueue(sink) {
          for (let i = 0; i < n; i++) sink[i] = limited(work);
        },
        async drain(sink) {
          blocker.open();
          await first;
          await Promise.all(sink);
        },
      };
    }),

  // Its jobs are its run-wrapper calls: the same loops as `run` and `waiters`.
  jobs: (limit) => pLimitLib.run!(limit),
  pendingJobs: () => pLimitLib.waiters!(),

  missing: {
    uncontended: 'no acquire/release (only limit(fn))',
    handoff: 'no acquire/release (only limit(fn))',
    burst: 'no acquire/release (only limit(fn))',
    cancel: 'clearQueue() drops every pending task; no per-task signal',
  },
};
