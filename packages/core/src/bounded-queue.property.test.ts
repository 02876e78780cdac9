import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';
import { ClosedError } from './errors.js';

// Random sequences of operations run against the queue and against a plain model of it. After
// every step the settled promises must match the model; at the end every accepted item must have
// been taken or discarded exactly once, in FIFO order, and no promise may be left pending.

type Op =
  | { t: 'put'; abortable: boolean; preAborted: boolean }
  | { t: 'tryPut' }
  | { t: 'take'; abortable: boolean; preAborted: boolean }
  | { t: 'tryTake' }
  | { t: 'next' }
  | { t: 'return' }
  | { t: 'abort'; k: number }
  | { t: 'close'; drain: boolean };

// A pre-aborted signal now and then; mostly live ones.
const rarely = fc.integer({ min: 0, max: 9 }).map((n) => n === 0);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('put' as const),
      abortable: fc.boolean(),
      preAborted: rarely,
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tryPut' as const) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('take' as const),
      abortable: fc.boolean(),
      preAborted: rarely,
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tryTake' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('next' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('return' as const) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('abort' as const), k: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), drain: fc.boolean() }) },
);

type Expected =
  | { status: 'pending' }
  | { status: 'fulfilled'; value: unknown }
  | { status: 'rejected'; reason: 'closed' | 'abort' };

interface Actual {
  status: 'pending' | 'fulfilled' | 'rejected';
  value?: unknown;
  reason?: unknown;
}

interface PendingOp {
  id: number;
  item: number;
  kind: 'put' | 'take' | 'next';
  controller: AbortController | undefined;
}

const DONE = { done: true, value: undefined };
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runScenario(capacity: number, ops: Op[]): Promise<void> {
  const q = new BoundedQueue<number>(capacity);
  const iterator = q[Symbol.asyncIterator]();
  // Model.
  const buf: number[] = [];
  const putters: PendingOp[] = [];
  const takers: PendingOp[] = [];
  let closed = false;
  let iterDone = false;
  const expected = new Map<number, Expected>();
  const actual = new Map<number, Actual>();
  const accepted: number[] = [];
  // Items delivered, keyed by the id of the op that received them (ids grow with time).
  const received = new Map<number, number>();
  const discarded: number[] = [];
  const signals: AbortSignal[] = [];

  const track = (id: number, promise: Promise<unknown>) => {
    const state: Actual = { status: 'pending' };
    actual.set(id, state);
    promise.then(
      (value) => {
        state.status = 'fulfilled';
        state.value = value;
      },
      (reason: unknown) => {
        state.status = 'rejected';
        state.reason = reason;
      },
    );
  };
  const deliver = (taker: PendingOp, item: number) => {
    received.set(taker.id, item);
    expected.set(taker.id, {
      status: 'fulfilled',
      value: taker.kind === 'next' ? { value: item, done: false } : item,
    });
  };
  const admitHeadPutter = (): number | undefined => {
    const putter = putters.shift();
    if (putter === undefined) return undefined;
    accepted.push(putter.item);
    expected.set(putter.id, { status: 'fulfilled', value: undefined });
    return putter.item;
  };
  /** Model of a take that finds something; returns the item or undefined. */
  const pollModel = (): number | undefined => {
    if (buf.length > 0) {
      const value = buf.shift() as number;
      const admitted = admitHeadPutter();
      if (admitted !== undefined) buf.push(admitted);
      return value;
    }
    return admitHeadPutter();
  };
  /** Model of an offer (put or tryPut) that needs no wait; false when it would wait. */
  const offerModel = (item: number): boolean => {
    const taker = takers.shift();
    if (taker !== undefined) {
      accepted.push(item);
      deliver(taker, item);
      return true;
    }
    if (buf.length < capacity) {
      accepted.push(item);
      buf.push(item);
      return true;
    }
    return false;
  };

  const check = (step: string) => {
    for (const [id, exp] of expected) {
      const act = actual.get(id) as Actual;
      const where = `${step}, op ${id}`;
      expect(act.status, where).toBe(exp.status);
      if (exp.status === 'fulfilled') expect(act.value, where).toEqual(exp.value);
      if (exp.status === 'rejected') {
        if (exp.reason === 'closed') expect(act.reason, where).toBeInstanceOf(ClosedError);
        else expect(act.reason, where).toBeInstanceOf(DOMException);
      }
    }
    expect(q.size, step).toBe(buf.length);
    expect(q.size, step).toBeLessThanOrEqual(capacity);
    expect(q.closed, step).toBe(closed);
  };

  for (const [id, op] of ops.entries()) {
    const item = id;
    switch (op.t) {
      case 'put':
      case 'take': {
        let controller: AbortController | undefined;
        let signal: AbortSignal | undefined;
        if (op.preAborted) signal = AbortSignal.abort();
        else if (op.abortable) {
          controller = new AbortController();
          signal = controller.signal;
        }
        if (signal !== undefined) signals.push(signal);
        if (op.t === 'put') {
          track(id, q.put(item, signal ? { signal } : undefined));
          if (op.preAborted) expected.set(id, { status: 'rejected', reason: 'abort' });
          else if (closed) expected.set(id, { status: 'rejected', reason: 'closed' });
          else if (offerModel(item)) expected.set(id, { status: 'fulfilled', value: undefined });
          else {
            putters.push({ id, item, kind: 'put', controller });
            expected.set(id, { status: 'pending' });
          }
        } else {
          track(id, q.take(signal ? { signal } : undefined));
          const taker: PendingOp = { id, item: -1, kind: 'take', controller };
          if (op.preAborted) expected.set(id, { status: 'rejected', reason: 'abort' });
          else {
            const value = pollModel();
            if (value !== undefined) deliver(taker, value);
            else if (closed) expected.set(id, { status: 'rejected', reason: 'closed' });
            else {
              takers.push(taker);
              expected.set(id, { status: 'pending' });
            }
          }
        }
        break;
      }
      case 'tryPut': {
        const ok = q.tryPut(item);
        expect(ok, `tryPut op ${id}`).toBe(!closed && offerModel(item));
        break;
      }
      case 'tryTake': {
        const result = q.tryTake();
        const value = pollModel();
        if (value === undefined) expect(result).toEqual({ ok: false });
        else {
          expect(result).toEqual({ ok: true, value });
          received.set(id, value);
        }
        break;
      }
      case 'next': {
        track(id, iterator.next());
        const taker: PendingOp = { id, item: -1, kind: 'next', controller: undefined };
        if (iterDone) expected.set(id, { status: 'fulfilled', value: DONE });
        else {
          const value = pollModel();
          if (value !== undefined) deliver(taker, value);
          else if (closed) {
            iterDone = true;
            expected.set(id, { status: 'fulfilled', value: DONE });
          } else {
            takers.push(taker);
            expected.set(id, { status: 'pending' });
          }
        }
        break;
      }
      case 'return': {
        await iterator.return?.();
        iterDone = true;
        for (let i = takers.length - 1; i >= 0; i--) {
          const taker = takers[i] as PendingOp;
          if (taker.kind === 'next') {
            takers.splice(i, 1);
            expected.set(taker.id, { status: 'fulfilled', value: DONE });
          }
        }
        break;
      }
      case 'abort': {
        const abortable = [...putters, ...takers].filter((w) => w.controller !== undefined);
        if (abortable.length === 0) break;
        const victim = abortable[op.k % abortable.length] as PendingOp;
        const list = victim.kind === 'put' ? putters : takers;
        list.splice(list.indexOf(victim), 1);
        expected.set(victim.id, { status: 'rejected', reason: 'abort' });
        victim.controller?.abort();
        break;
      }
      case 'close': {
        const returned = q.close({ drain: op.drain });
        closed = true;
        for (const putter of putters.splice(0)) {
          expected.set(putter.id, { status: 'rejected', reason: 'closed' });
        }
        const expectDiscarded = op.drain ? [] : buf.splice(0);
        expect(returned).toEqual(expectDiscarded);
        discarded.push(...returned);
        if (buf.length === 0) {
          for (const taker of takers.splice(0)) {
            expected.set(
              taker.id,
              taker.kind === 'next'
                ? { status: 'fulfilled', value: DONE }
                : { status: 'rejected', reason: 'closed' },
            );
          }
        }
        break;
      }
    }
    await flush();
    check(`after op ${id} (${op.t})`);
  }

  // Shut down: everything settles, nothing is lost or duplicated, order is FIFO.
  discarded.push(...q.close({ drain: false }));
  await flush();
  for (const [id, act] of actual) expect(act.status, `op ${id} left pending`).not.toBe('pending');
  const out = [
    ...[...received.entries()].sort(([a], [b]) => a - b).map(([, v]) => v),
    ...discarded,
  ];
  expect(out).toEqual([...accepted].sort((a, b) => a - b));
  expect(new Set(out).size).toBe(out.length);
  for (let i = 1; i < out.length; i++) expect(out[i]).toBeGreaterThan(out[i - 1] as number);
  for (const signal of signals) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
}

describe('BoundedQueue: properties', () => {
  it('random put/tryPut/take/tryTake/next/return/abort/close sequences match a model and lose nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 4 }),
        fc.array(opArb, { maxLength: 40 }),
        runScenario,
      ),
      { numRuns: 300 },
    );
  });
});
