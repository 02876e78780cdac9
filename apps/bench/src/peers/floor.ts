import { ABORT_REASON, type Library, RESOLVED, Tally, timed, weighed, work } from './library.js';

const self = { name: 'floor', role: 'floor' } as const;

const ADMIT = { ok: true } as const;
const REFUSE = { ok: false } as const;
const admit = (): { ok: boolean } => ADMIT;
const refuse = (): { ok: boolean } => REFUSE;

/**
 * The lower bound of every async scenario: a loop that only awaits an already-resolved promise
 * once per operation. No async acquire can beat it. For the synchronous `tryTake` scenario the
 * floor is a loop that calls a function returning a constant result.
 */
export const floor: Library = {
  ...self,
  uncontended: () =>
    timed(self, 'await resolved', (n) => ({
      async run() {
        for (let i = 0; i < n; i++) await RESOLVED;
      },
    })),

  handoff: () =>
    timed(self, 'n tasks, await resolved', (n) => ({
      async run() {
        const tasks = new Array<Promise<void>>(n);
        for (let i = 0; i < n; i++) {
          tasks[i] = (async () => {
            await RESOLVED;
          })();
        }
        await Promise.all(tasks);
      },
    })),

  run: () =>
    timed(self, 'n tasks, await resolved', (n) => ({
      async run() {
        const tasks = new Array<Promise<void>>(n);
        for (let i = 0; i < n; i++) {
          tasks[i] = (async () => {
            await RESOLVED;
          })();
        }
        await Promise.all(tasks);
      },
    })),

  runUncontended: () =>
    timed(self, 'await fn()', (n) => ({
      async run() {
        for (let i = 0; i < n; i++) await work();
      },
    })),

  cancel: (order) =>
    timed(self, 'abort listener rejects a promise', (n) => {
      const controllers = new Array<AbortController>(n);
      const tally = new Tally(n);
      for (let i = 0; i < n; i++) {
        const controller = new AbortController();
        controllers[i] = controller;
        const { signal } = controller;
        new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }).then(tally.onFulfilled, tally.onRejected);
      }
      const sequence = order(n);
      return {
        async run() {
          for (let i = 0; i < n; i++) controllers[sequence[i]!]!.abort(ABORT_REASON);
          await tally.done;
        },
        verify: () => (tally.rejected === n ? undefined : `${tally.rejected}/${n} rejected`),
      };
    }),

  waiters: () =>
    weighed(self, 'pending promise + resolver', (n) => {
      let resolvers: (() => void)[] = [];
      return {
        enqueue(sink) {
          for (let i = 0; i < n; i++) {
            sink[i] = new Promise<void>((resolve) => {
              resolvers.push(resolve);
            });
          }
        },
        async drain(sink) {
          for (const resolve of resolvers) resolve();
          resolvers = [];
          await Promise.all(sink);
        },
      };
    }),

  queue: () =>
    timed(self, 'two loops, await resolved', (n) => ({
      async run() {
        const producer = (async () => {
          for (let i = 0; i < n; i++) await RESOLVED;
        })();
        for (let i = 0; i < n; i++) await RESOLVED;
        await producer;
      },
    })),

  jobs: (limit) => floor.run!(limit),

  pendingJobs: () => floor.waiters!(),

  tryTake: (mode) =>
    timed(self, 'sync call of a constant', (n) => {
      const call = mode === 'admit' ? admit : refuse;
      let ok = 0;
      return {
        run() {
          for (let i = 0; i < n; i++) if (call().ok) ok++;
        },
        verify: () => (ok === (mode === 'admit' ? n : 0) ? undefined : `ok ${ok}/${n}`),
      };
    }),
};
