import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveSemaphore } from './adaptive-semaphore.js';
import type { AdaptivePermit } from './types.js';

// Random interleavings of acquires, the three ways of giving a permit back, aborts, tryAcquire
// and limit changes (the algorithm answers whatever the sequence says next). After every step:
// no permit leaked or duplicated, a grant never took inUse past the limit of that moment,
// `available` never negative, the queue as the test expects; at the end, all given back => 0.

type Op =
  | { t: 'acquire'; abortable: boolean }
  | { t: 'give'; i: number; how: 'release' | 'drop' | 'ignore' }
  | { t: 'again'; i: number }
  | { t: 'abort'; i: number }
  | { t: 'try' }
  | { t: 'limit'; next: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant('acquire' as const), abortable: fc.boolean() }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('give' as const),
      i: fc.nat(),
      how: fc.constantFrom('release' as const, 'drop' as const, 'ignore' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('again' as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('abort' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('try' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('limit' as const),
      next: fc.integer({ min: 0, max: 8 }),
    }),
  },
);

async function flush(): Promise<void> {
  for (let i = 0; i < 6; i++) await Promise.resolve();
}

describe('AdaptiveSemaphore under random interleavings (with limit changes)', () => {
  it('never leaks, never over-grants, never reads negative', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
        let answer = 3;
        const sem = new AdaptiveSemaphore({
          algorithm: { update: () => answer },
          initialLimit: 3,
          minLimit: 1,
          maxLimit: 6,
        });
        const held: AdaptivePermit[] = [];
        const given: AdaptivePermit[] = [];
        const pending: Array<{ controller: AbortController | null; settled: boolean }> = [];
        let waitingExpected = 0;

        const track = (controller: AbortController | null) => {
          const entry = { controller, settled: false };
          pending.push(entry);
          waitingExpected++;
          sem.acquire(controller ? { signal: controller.signal } : undefined).then(
            (permit) => {
              entry.settled = true;
              waitingExpected--;
              held.push(permit);
            },
            () => {
              entry.settled = true;
              waitingExpected--;
            },
          );
        };

        for (const op of ops) {
          const before = sem.stats();
          switch (op.t) {
            case 'acquire':
              track(op.abortable ? new AbortController() : null);
              break;
            case 'give':
              if (held.length > 0) {
                const permit = held.splice(op.i % held.length, 1)[0]!;
                permit[op.how]();
                given.push(permit);
              }
              break;
            case 'again':
              if (given.length > 0) given[op.i % given.length]!.release();
              break;
            case 'abort': {
              const open = pending.filter((p) => !p.settled && p.controller !== null);
              if (open.length > 0) open[op.i % open.length]!.controller!.abort();
              break;
            }
            case 'try': {
              const permit = sem.tryAcquire();
              if (permit !== undefined) {
                expect(before.waiting).toBe(0);
                held.push(permit);
              }
              break;
            }
            case 'limit':
              answer = op.next;
              break;
          }
          await flush();
          const after = sem.stats();
          expect(after.inUse).toBe(held.length);
          expect(after.waiting).toBe(waitingExpected);
          expect(after.available).toBe(Math.max(0, after.limit - after.inUse));
          expect(after.available).toBeGreaterThanOrEqual(0);
          expect(after.limit).toBeGreaterThanOrEqual(1);
          expect(after.limit).toBeLessThanOrEqual(6);
          // A grant happened during this step: it found room under the limit of that moment.
          if (after.acquired > before.acquired)
            expect(after.inUse).toBeLessThanOrEqual(after.limit);
          // Nobody waits while a permit is free (no lost wake-up).
          if (after.waiting > 0) expect(after.available).toBe(0);
        }

        // Give everything back; every waiter is served in turn; nothing is left.
        while (held.length > 0 || waitingExpected > 0) {
          const permit = held.shift();
          if (permit === undefined) break;
          permit.release();
          await flush();
        }
        expect(waitingExpected).toBe(0);
        expect(sem.stats()).toMatchObject({ inUse: 0, waiting: 0 });
        expect(sem.available).toBe(sem.limit);
      }),
      { numRuns: 300 },
    );
  });
});
