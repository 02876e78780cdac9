import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LimiterEvent } from './events.js';
import { recordEvents } from './internal/record-events.js';
import { Semaphore } from './semaphore.js';
import type { Permit } from './types.js';

// Any sequence of operations: the events account for every acquire exactly once (granted or
// rejected), and the permits they report held are exactly the semaphore's inUse.

type Op =
  | { op: 'acquire'; weight: number; signal: number | null }
  | { op: 'try'; weight: number }
  | { op: 'release'; pick: number }
  | { op: 'abort'; signal: number }
  | { op: 'resize'; by: number };

const CAPACITY = 3;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('acquire' as const),
    weight: fc.integer({ min: 1, max: CAPACITY }),
    signal: fc.option(fc.integer({ min: 0, max: 1 })),
  }),
  fc.record({ op: fc.constant('try' as const), weight: fc.integer({ min: 1, max: CAPACITY }) }),
  fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('abort' as const), signal: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ op: fc.constant('resize' as const), by: fc.integer({ min: 0, max: 2 }) }),
);

function heldBy(events: LimiterEvent[]): number {
  let held = 0;
  for (const e of events) {
    if (e.type === 'acquired') held += e.weight;
    if (e.type === 'released') held -= e.weight;
  }
  return held;
}

describe('Semaphore events (property)', () => {
  it('every acquire ends in exactly one acquired or rejected, and held weight matches inUse', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), async (ops) => {
        // Capacity only grows here, so no waiter is refused by a resize (which emits nothing).
        let capacity = CAPACITY;
        const sem = new Semaphore(capacity, { maxWaiting: 4 });
        const { events } = recordEvents(sem);
        const controllers = [new AbortController(), new AbortController()];
        const held: Permit[] = [];
        const pending: Promise<unknown>[] = [];
        let calls = 0;
        let tryGrants = 0;
        for (const step of ops) {
          if (step.op === 'acquire') {
            calls++;
            const signal = step.signal === null ? undefined : controllers[step.signal]!.signal;
            const promise = sem.acquire({ weight: step.weight, signal });
            pending.push(
              promise.then(
                (permit) => held.push(permit),
                () => {},
              ),
            );
          } else if (step.op === 'try') {
            const permit = sem.tryAcquire(step.weight);
            if (permit !== undefined) {
              tryGrants++;
              held.push(permit);
            }
          } else if (step.op === 'release') {
            if (held.length > 0) held.splice(step.pick % held.length, 1)[0]!.release();
          } else if (step.op === 'abort') {
            controllers[step.signal]!.abort();
            controllers[step.signal] = new AbortController();
          } else {
            capacity += step.by;
            sem.resize(capacity);
          }
          await Promise.resolve();
          expect(heldBy(events)).toBe(sem.inUse);
          expect(events.filter((e) => e.type === 'acquired')).toHaveLength(sem.stats().acquired);
        }
        sem.close();
        await Promise.all(pending);
        const count = (type: string) => events.filter((e) => e.type === type).length;
        expect(count('acquired') + count('rejected')).toBe(calls + tryGrants);
        for (const permit of held) permit.release();
        expect(heldBy(events)).toBe(0);
        expect(count('released')).toBe(count('acquired'));
      }),
      { numRuns: 200 },
    );
  });
});
