import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';

// Issue 18, point 2: aborts that land in the same tick as the grant. Whole bursts of puts,
// takes and aborts run synchronously between flushes, so an abort often comes right after its
// wait was served. Whatever the order, the outcome must be: every item that entered is received
// exactly once, by a take that resolved or by the final drain, in put order (FIFO), and a take
// or put that rejected moved nothing.

type Step =
  | { t: 'put'; abortable: boolean }
  | { t: 'take'; abortable: boolean }
  | { t: 'abort'; k: number }
  | { t: 'flush' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('put' as const), abortable: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('take' as const), abortable: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('abort' as const), k: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('flush' as const) }) },
);

interface Outcome<T> {
  status: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
}

function watch<T>(promise: Promise<T>): Outcome<T> {
  const outcome: Outcome<T> = { status: 'pending' };
  promise.then(
    (value) => {
      outcome.status = 'fulfilled';
      outcome.value = value;
    },
    () => {
      outcome.status = 'rejected';
    },
  );
  return outcome;
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('BoundedQueue: aborts in the same tick as the grant', () => {
  it('lose, duplicate and reorder nothing, whatever lands first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 }),
        fc.array(stepArb, { maxLength: 60 }),
        async (capacity, steps) => {
          const q = new BoundedQueue<number>(capacity);
          const controllers: AbortController[] = [];
          const puts: { item: number; outcome: Outcome<void> }[] = [];
          const takes: Outcome<number>[] = [];
          let nextItem = 0;
          for (const step of steps) {
            if (step.t === 'flush') {
              await flush();
            } else if (step.t === 'abort') {
              controllers[step.k % Math.max(1, controllers.length)]?.abort();
            } else {
              let signal: AbortSignal | undefined;
              if (step.abortable) {
                const controller = new AbortController();
                controllers.push(controller);
                signal = controller.signal;
              }
              if (step.t === 'put') {
                const item = nextItem++;
                puts.push({ item, outcome: watch(q.put(item, { signal })) });
              } else {
                takes.push(watch(q.take({ signal })));
              }
            }
          }
          // Settle everything: close (pending puts reject, their items never entered), take
          // what is left, then abort every signal so no take stays pending.
          await flush();
          const left: number[] = [];
          q.close();
          for (let r = q.tryTake(); r.ok; r = q.tryTake()) left.push(r.value);
          for (const controller of controllers) controller.abort();
          await flush();

          const entered = puts.filter((p) => p.outcome.status === 'fulfilled').map((p) => p.item);
          expect(puts.every((p) => p.outcome.status !== 'pending')).toBe(true);
          expect(takes.every((t) => t.status !== 'pending')).toBe(true);
          // Takes are served in arrival order and items leave in put order: what the resolved
          // takes got, in the order they were made, then what was left, is exactly what entered.
          const received = takes
            .filter((t) => t.status === 'fulfilled')
            .map((t) => t.value as number);
          expect([...received, ...left]).toEqual(entered);
        },
      ),
      { numRuns: 300 },
    );
  });
});
