import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RingNode, WaiterRing } from './waiter-ring.js';

type Node = RingNode & { id: number };

type Op = { t: 'push' } | { t: 'shift' } | { t: 'remove'; i: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ t: 'push' } as const) },
  { weight: 2, arbitrary: fc.constant({ t: 'shift' } as const) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('remove' as const), i: fc.nat() }) },
);

describe('WaiterRing', () => {
  it('stays a FIFO of the live nodes through pushes, shifts and removals anywhere', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
        const ring = new WaiterRing<Node>();
        const model: Node[] = [];
        let nextId = 0;
        let peak = 0;
        for (const op of ops) {
          if (op.t === 'push') {
            const node = { id: nextId++, slot: -1 };
            ring.push(node);
            model.push(node);
          } else if (op.t === 'shift') {
            const head = ring.peek();
            expect(head).toBe(model[0] ?? null);
            if (head !== null) {
              ring.shift();
              model.shift();
            }
          } else if (model.length > 0) {
            const [node] = model.splice(op.i % model.length, 1);
            ring.remove(node as Node);
          }
          peak = Math.max(peak, model.length);
          expect(ring.size).toBe(model.length);
          expect(ring.toArray()).toEqual(model);
          expect(ring.peek()).toBe(model[0] ?? null);
          // Holes never make the ring outgrow its live nodes: at most 4x the peak (or 16).
          expect(ring.slots.length).toBeLessThanOrEqual(Math.max(16, 4 * peak));
          expect(ring.used).toBeLessThanOrEqual(ring.slots.length);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a long-stuck queue small while waiters behind the head come and go', () => {
    const ring = new WaiterRing<Node>();
    const head = { id: -1, slot: -1 };
    ring.push(head);
    const live: Node[] = [];
    for (let i = 0; i < 100_000; i++) {
      const node = { id: i, slot: -1 };
      ring.push(node);
      live.push(node);
      // Ten stay queued behind the head; the oldest of the rest leaves (a timeout, an abort).
      if (live.length > 10) ring.remove(live.shift() as Node);
    }
    expect(ring.size).toBe(11);
    expect(ring.slots.length).toBeLessThanOrEqual(32);
    expect(ring.peek()).toBe(head);
    expect(ring.toArray()).toEqual([head, ...live]);
  });

  it('forgets every node it held once the last one leaves', () => {
    const ring = new WaiterRing<Node>();
    const nodes = Array.from({ length: 40 }, (_, id) => ({ id, slot: -1 }));
    for (const node of nodes) ring.push(node);
    for (const node of nodes.reverse()) ring.remove(node);
    expect(ring.size).toBe(0);
    expect(ring.peek()).toBeNull();
    expect(ring.slots.every((slot) => slot === null)).toBe(true);
  });

  it('keeps bare functions in FIFO order with nodes through rebuilds, and clears', () => {
    type Entry = Node | (() => number);
    const ring = new WaiterRing<Entry>();
    const model: Entry[] = [];
    const nodes: Node[] = [];
    for (let i = 0; i < 100; i++) {
      const entry: Entry = i % 3 === 0 ? { id: i, slot: -1 } : () => i;
      ring.push(entry);
      model.push(entry);
      if (typeof entry !== 'function') nodes.push(entry);
    }
    // Removing nodes by their slot still works after the rebuilds that growing made.
    for (const node of nodes.filter((_, i) => i % 2 === 0)) {
      ring.remove(node);
      model.splice(model.indexOf(node), 1);
    }
    expect(ring.toArray()).toEqual(model);
    expect(ring.size).toBe(model.length);
    ring.clear();
    expect(ring.size).toBe(0);
    expect(ring.peek()).toBeNull();
    expect(ring.slots.every((slot) => slot === null)).toBe(true);
  });
});
