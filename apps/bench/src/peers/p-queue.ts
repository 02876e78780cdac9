import PQueue from 'p-queue';
import { ABORT_REASON, gate, type Library, Tally, timed, weighed, work } from './library.js';

const self = { name: 'p-queue', role: 'peer' } as const;

// p-queue is a task queue: `queue.add(fn, { signal })`. No acquire/release. It is the only peer
// that cancels one queued task by its signal. Its closest bounded producer/consumer shape is
// `await queue.onSizeLessThan(capacity)` before each `add` (its README's backpressure recipe).
export const pQueueLib: Library = {
  ...self,
  packageName: 'p-queue',

  run: (limit) =>
    timed(self, 'queue.add(fn)', (n) => {
      const queue = new PQueue({ concurrency: limit });
      return {
        async run() {
          const tasks = new Array<Promise<void>>(n);
          for (let i = 0; i < n; i++) tasks[i] = queue.add(work);
          await Promise.all(tasks);
        },
        verify: () => (queue.pending === 0 ? undefined : `pending ${queue.pending}`),
      };
    }),

  runUncontended: () =>
    timed(self, 'await queue.add(fn)', (n) => {
      const queue = new PQueue({ concurrency: 1 });
      return {
        async run() {
          for (let i = 0; i < n; i++) await queue.add(work);
        },
        verify: () => (queue.pending === 0 ? undefined : `pending ${queue.pending}`),
      };
    }),

  cancel: (order) =>
    timed(self, 'add(fn, { signal }), abort each', async (n) => {
      const queue = new PQueue({ concurrency: 1 });
      const blocker = gate();
      const first = queue.add(() => blocker.promise);
      const controllers = new Array<AbortController>(n);
      const tally = new Tally(n);
      for (let i = 0; i < n; i++) {
        const controller = new AbortController();
        controllers[i] = controller;
        queue.add(work, { signal: controller.signal }).then(tally.onFulfilled, tally.onRejected);
      }
      const sequence = order(n);
      return {
        async run() {
          for (let i = 0; i < n; i++) controllers[sequence[i]!]!.abort(ABORT_REASON);
          await tally.done;
        },
        async verify() {
          if (tally.rejected !== n) return `${tally.rejected}/${n} rejected`;
          if (queue.size !== 0) return `${queue.size} queued after abort`;
          // Still limits and grants: two tasks after the blocker run one at a time.
          let active = 0;
          let most = 0;
          const task = async (): Promise<void> => {
            active++;
            most = Math.max(most, active);
            await Promise.resolve();
            active--;
          };
          const after = [queue.add(task), queue.add(task)];
          blocker.open();
          await first;
          await Promise.all(after);
          return most === 1 ? undefined : `${most} ran at once with concurrency 1`;
        },
      };
    }),

  waiters: () =>
    weighed(self, 'pending queue.add(fn)', (n) => {
      const queue = new PQueue({ concurrency: 1 });
      const blocker = gate();
      const first = queue.add(() => blocker.promise);
      return {
        enqueue(sink) {
          for (let i = 0; i < n; i++) sink[i] = queue.add(work);
        },
        async drain(sink) {
          blocker.open();
          await first;
          await Promise.all(sink);
        },
      };
    }),

  queue: (capacity) =>
    timed(self, 'await onSizeLessThan(cap); add(consume)', (n) => {
      const queue = new PQueue({ concurrency: 1 });
      let sum = 0;
      return {
        async run() {
          for (let i = 0; i < n; i++) {
            await queue.onSizeLessThan(capacity);
            void queue.add(() => {
              sum += i;
            });
          }
          await queue.onIdle();
        },
        verify: () => (sum === (n * (n - 1)) / 2 ? undefined : `sum ${sum}`),
      };
    }),

  // `queue.add(fn)` is p-queue's job: the same loops as `run` and `waiters`.
  jobs: (limit) => pQueueLib.run!(limit),
  pendingJobs: () => pQueueLib.waiters!(),

  missing: {
    uncontended: 'no acquire/release (only add(fn))',
    handoff: 'no acquire/release (only add(fn))',
    burst: 'no acquire/release (only add(fn))',
  },
};
