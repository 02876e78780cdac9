import { AsyncLocalStorage } from 'node:async_hooks';
import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';
import { mapConcurrent } from './map-concurrent.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A source of 0..n-1 (endless when n is Infinity) that counts pulls and notices being closed. */
function counted(n: number, kind: 'sync' | 'async' = 'sync') {
  const stats = { pulled: 0, closed: false, opened: 0 };
  function* sync() {
    stats.opened++;
    try {
      for (let i = 0; i < n; i++) {
        stats.pulled++;
        yield i;
      }
    } finally {
      stats.closed = true;
    }
  }
  async function* async() {
    stats.opened++;
    try {
      for (let i = 0; i < n; i++) {
        await null;
        stats.pulled++;
        yield i;
      }
    } finally {
      stats.closed = true;
    }
  }
  const source: Iterable<number> | AsyncIterable<number> =
    kind === 'sync' ? { [Symbol.iterator]: sync } : { [Symbol.asyncIterator]: async };
  return { source, stats };
}

async function collect<R>(iterable: AsyncIterable<R>): Promise<R[]> {
  const out: R[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

describe('mapConcurrent: arguments', () => {
  const fn = (x: number) => x;
  it.each([
    [
      'a number source',
      () => mapConcurrent(42 as never, fn, { concurrency: 1 }),
      TypeError,
      /`source`.*42/,
    ],
    [
      'a null source',
      () => mapConcurrent(null as never, fn, { concurrency: 1 }),
      TypeError,
      /`source`/,
    ],
    [
      'fn not a function',
      () => mapConcurrent([1], 'f' as never, { concurrency: 1 }),
      TypeError,
      /`fn`.*"f"/,
    ],
    [
      'options missing',
      () => mapConcurrent([1], fn, undefined as never),
      TypeError,
      /`options`.*concurrency/,
    ],
    [
      'concurrency 0',
      () => mapConcurrent([1], fn, { concurrency: 0 }),
      RangeError,
      /`concurrency`.*positive integer.*0/,
    ],
    [
      'concurrency 1.5',
      () => mapConcurrent([1], fn, { concurrency: 1.5 }),
      RangeError,
      /`concurrency`.*1\.5/,
    ],
    [
      'concurrency Infinity',
      () => mapConcurrent([1], fn, { concurrency: Number.POSITIVE_INFINITY }),
      RangeError,
      /`concurrency`.*Infinity/,
    ],
    [
      'concurrency "2"',
      () => mapConcurrent([1], fn, { concurrency: '2' as never }),
      TypeError,
      /`concurrency`.*"2"/,
    ],
    [
      'ordered "yes"',
      () => mapConcurrent([1], fn, { concurrency: 1, ordered: 'yes' as never }),
      TypeError,
      /`ordered`.*"yes"/,
    ],
    [
      'signal {}',
      () => mapConcurrent([1], fn, { concurrency: 1, signal: {} as never }),
      TypeError,
      /`signal`.*AbortSignal/,
    ],
  ])('throws at the call for %s', (_, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });

  it('reads nothing from the source when the arguments are bad, nor before iteration', () => {
    const { source, stats } = counted(5);
    expect(() => mapConcurrent(source, (x) => x, { concurrency: -1 })).toThrow(RangeError);
    const iterable = mapConcurrent(source, (x) => x, { concurrency: 2 });
    iterable[Symbol.asyncIterator]();
    expect(stats).toEqual({ pulled: 0, closed: false, opened: 0 });
  });
});

describe('mapConcurrent: results', () => {
  it('yields in source order by default, whatever order the calls finish in', async () => {
    const delays = [30, 5, 20, 0, 10, 1, 15];
    const out = await collect(
      mapConcurrent(
        delays,
        async (ms, index) => {
          await sleep(ms);
          return `${index}:${ms}`;
        },
        { concurrency: 3 },
      ),
    );
    expect(out).toEqual(delays.map((ms, i) => `${i}:${ms}`));
  });

  it('works over async sources and sync mappers', async () => {
    const { source, stats } = counted(20, 'async');
    expect(await collect(mapConcurrent(source, (x) => x * 2, { concurrency: 4 }))).toEqual(
      Array.from({ length: 20 }, (_, i) => i * 2),
    );
    expect(stats.pulled).toBe(20);
  });

  it('ordered: false yields results as they finish', async () => {
    const gates = [deferred<string>(), deferred<string>(), deferred<string>()];
    const it = mapConcurrent(
      [0, 1, 2],
      (i) => (gates[i] as ReturnType<typeof deferred<string>>).promise,
      {
        concurrency: 3,
        ordered: false,
      },
    )[Symbol.asyncIterator]();
    const first = it.next();
    await flush();
    gates[2]?.resolve('c');
    expect(await first).toEqual({ value: 'c', done: false });
    gates[0]?.resolve('a');
    gates[1]?.resolve('b');
    expect(await it.next()).toEqual({ value: 'a', done: false });
    expect(await it.next()).toEqual({ value: 'b', done: false });
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('ordered: true holds a finished result until the earlier ones are out', async () => {
    const gates = [deferred<string>(), deferred<string>()];
    const it = mapConcurrent(
      [0, 1],
      (i) => (gates[i] as ReturnType<typeof deferred<string>>).promise,
      {
        concurrency: 2,
      },
    )[Symbol.asyncIterator]();
    const first = it.next();
    gates[1]?.resolve('b');
    await flush();
    let settled = false;
    first.then(() => {
      settled = true;
    });
    await flush();
    expect(settled).toBe(false);
    gates[0]?.resolve('a');
    expect(await first).toEqual({ value: 'a', done: false });
    expect(await it.next()).toEqual({ value: 'b', done: false });
  });

  it('an empty source ends at once; each iteration starts over', async () => {
    expect(await collect(mapConcurrent([], (x) => x, { concurrency: 2 }))).toEqual([]);
    const iterable = mapConcurrent([1, 2, 3], (x) => x + 1, { concurrency: 2 });
    expect(await collect(iterable)).toEqual([2, 3, 4]);
    expect(await collect(iterable)).toEqual([2, 3, 4]);
  });
});

describe('mapConcurrent: limits', () => {
  it.each([true, false])(
    'never has more than `concurrency` calls in flight (ordered %s)',
    async (ordered) => {
      let inFlight = 0;
      let maxInFlight = 0;
      const { source } = counted(60, 'async');
      const out = await collect(
        mapConcurrent(
          source,
          async (x) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await sleep(x % 4);
            inFlight--;
            return x;
          },
          { concurrency: 3, ordered },
        ),
      );
      expect(maxInFlight).toBe(3);
      expect(out.sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    },
  );

  it.each([
    ['sync', true],
    ['async', true],
    ['sync', false],
    ['async', false],
  ] as const)(
    'reads a %s source lazily: pulls <= taken + concurrency (ordered %s)',
    async (kind, ordered) => {
      const concurrency = 4;
      const { source, stats } = counted(Number.POSITIVE_INFINITY, kind);
      let calls = 0;
      const it = mapConcurrent(
        source,
        async (x) => {
          calls++;
          await sleep(x % 3);
          return x;
        },
        { concurrency, ordered },
      )[Symbol.asyncIterator]();
      await flush();
      expect(stats.pulled).toBe(0);
      for (let taken = 1; taken <= 12; taken++) {
        await it.next();
        // Give the calls time to finish and the pump every chance to read ahead.
        await sleep(5);
        await flush();
        expect(stats.pulled).toBeLessThanOrEqual(taken + concurrency);
        expect(stats.pulled).toBeGreaterThanOrEqual(taken);
      }
      expect(calls).toBe(stats.pulled);
      await it.return?.();
      expect(stats.closed).toBe(true);
    },
  );
});

describe('mapConcurrent: errors, aborts and early exit', () => {
  it('an error from fn rejects the iteration, stops pulling and closes the source', async () => {
    const { source, stats } = counted(Number.POSITIVE_INFINITY, 'async');
    const boom = new Error('boom');
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const x of mapConcurrent(
          source,
          async (x) => {
            await sleep(1);
            if (x === 5) throw boom;
            return x;
          },
          { concurrency: 3 },
        )) {
          seen.push(x);
        }
      })(),
    ).rejects.toBe(boom);
    const pulled = stats.pulled;
    await sleep(10);
    expect(stats.pulled).toBe(pulled);
    expect(stats.closed).toBe(true);
    expect(seen.every((x) => x < 5)).toBe(true);
  });

  it('a synchronous throw from fn rejects too', async () => {
    const { source, stats } = counted(10);
    const it = mapConcurrent(
      source,
      (x) => {
        if (x === 1) throw new TypeError('bad item');
        return x;
      },
      { concurrency: 1 },
    )[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: 0, done: false });
    await expect(it.next()).rejects.toThrow('bad item');
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(stats.closed).toBe(true);
    expect(stats.pulled).toBe(2);
  });

  it('an error while the consumer is busy is reported by the next next()', async () => {
    const it = mapConcurrent([1, 2], (x) => (x === 2 ? Promise.reject(new Error('late')) : x), {
      concurrency: 2,
    })[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: 1, done: false });
    await flush();
    await expect(it.next()).rejects.toThrow('late');
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('an error from the source rejects the iteration', async () => {
    async function* broken() {
      yield 1;
      yield 2;
      throw new Error('source broke');
    }
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const x of mapConcurrent(broken(), (x) => x, { concurrency: 2 })) seen.push(x);
      })(),
    ).rejects.toThrow('source broke');
    expect(seen.length).toBeLessThanOrEqual(2);
  });

  it('a source whose next() returns a non-object rejects the iteration', async () => {
    const bad = { [Symbol.iterator]: () => ({ next: () => 42 }) } as unknown as Iterable<number>;
    await expect(collect(mapConcurrent(bad, (x) => x, { concurrency: 2 }))).rejects.toThrow(
      /next\(\) to return an object, got 42/,
    );
  });

  it('an abort rejects with the reason, stops pulling, closes the source and removes its listener', async () => {
    const { source, stats } = counted(Number.POSITIVE_INFINITY, 'async');
    const ac = new AbortController();
    const it = mapConcurrent(
      source,
      async (x) => {
        await sleep(1);
        return x;
      },
      { concurrency: 2, signal: ac.signal },
    )[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: 0, done: false });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    const pending = it.next();
    ac.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    const pulled = stats.pulled;
    await sleep(10);
    expect(stats.pulled).toBe(pulled);
    expect(stats.closed).toBe(true);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('an already-aborted signal rejects the first next() and never opens the source', async () => {
    const { source, stats } = counted(5);
    const signal = AbortSignal.abort(new Error('early'));
    await expect(
      collect(mapConcurrent(source, (x) => x, { concurrency: 2, signal })),
    ).rejects.toThrow('early');
    expect(stats.opened).toBe(0);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('removes the abort listener when the iteration completes', async () => {
    const ac = new AbortController();
    expect(
      await collect(mapConcurrent([1, 2, 3], (x) => x, { concurrency: 2, signal: ac.signal })),
    ).toEqual([1, 2, 3]);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it.each(['sync', 'async'] as const)(
    'break closes a %s source and stops pulling',
    async (kind) => {
      const { source, stats } = counted(Number.POSITIVE_INFINITY, kind);
      const concurrency = 3;
      const seen: number[] = [];
      for await (const x of mapConcurrent(source, async (x) => x, { concurrency })) {
        seen.push(x);
        if (seen.length === 2) break;
      }
      expect(seen).toEqual([0, 1]);
      // A sync source is closed when the loop ends; an async one with a pull still pending closes
      // once that pull settles (break does not wait for it, so it cannot hang on a stuck source).
      if (kind === 'async') await flush();
      expect(stats.closed).toBe(true);
      expect(stats.pulled).toBeLessThanOrEqual(2 + concurrency);
      const pulled = stats.pulled;
      await sleep(5);
      expect(stats.pulled).toBe(pulled);
    },
  );

  it('break over a BoundedQueue source takes nothing more from the queue', async () => {
    const q = new BoundedQueue<number>(10);
    for (let i = 0; i < 10; i++) q.tryPut(i);
    const seen: number[] = [];
    for await (const x of mapConcurrent(q, (x) => x, { concurrency: 1 })) {
      seen.push(x);
      if (x === 2) break;
    }
    // With concurrency 1 at most one item is read ahead of the consumer.
    expect(q.size).toBeGreaterThanOrEqual(6);
    expect(seen).toEqual([0, 1, 2]);
  });
});

describe('mapConcurrent: async context', () => {
  it('runs fn in the async context of the consumer, not of the producer', async () => {
    const als = new AsyncLocalStorage<string>();
    const q = new BoundedQueue<number>(2);
    const producer = als.run('producer', async () => {
      for (let i = 0; i < 12; i++) {
        await q.put(i);
        await sleep(i % 2);
      }
      q.close();
    });
    const contexts: (string | undefined)[] = [];
    const out = await als.run('consumer', () =>
      collect(
        mapConcurrent(
          q,
          async (x) => {
            contexts.push(als.getStore());
            await sleep(x % 3);
            contexts.push(als.getStore());
            return x;
          },
          { concurrency: 3, ordered: false },
        ),
      ),
    );
    await producer;
    expect(out.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(contexts).toHaveLength(24);
    expect(new Set(contexts)).toEqual(new Set(['consumer']));
  });

  it('keeps the context of whoever iterates with a sync source', async () => {
    const als = new AsyncLocalStorage<number>();
    const contexts: (number | undefined)[] = [];
    const iterable = mapConcurrent(
      [1, 2, 3, 4],
      async (x) => {
        contexts.push(als.getStore());
        await sleep(1);
        return x;
      },
      { concurrency: 2 },
    );
    await als.run(7, () => collect(iterable));
    await als.run(8, () => collect(iterable));
    expect(contexts).toEqual([7, 7, 7, 7, 8, 8, 8, 8]);
  });
});

describe('mapConcurrent: when fn starts', () => {
  it.each([1, 3])(
    'never inside mapConcurrent(), [Symbol.asyncIterator]() or next(): a microtask later (concurrency %s)',
    async (concurrency) => {
      let calls = 0;
      const iterable = mapConcurrent(
        [0, 1, 2, 3, 4],
        (x) => {
          calls++;
          return x;
        },
        { concurrency },
      );
      const it = iterable[Symbol.asyncIterator]();
      expect(calls).toBe(0);
      const out: unknown[] = [];
      for (;;) {
        const before = calls;
        const pending = it.next();
        // Whether a slot was free or not, next() itself called nothing.
        expect(calls).toBe(before);
        const result = await pending;
        if (result.done) break;
        out.push(result.value);
      }
      expect(out).toEqual([0, 1, 2, 3, 4]);
      expect(calls).toBe(5);
    },
  );

  it('a call not started when the iteration ends never starts', async () => {
    const { source, stats } = counted(10);
    let calls = 0;
    const it = mapConcurrent(
      source,
      (x) => {
        calls++;
        return x;
      },
      { concurrency: 3 },
    )[Symbol.asyncIterator]();
    const pending = it.next();
    await it.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    await flush();
    expect(calls).toBe(0);
    expect(stats.closed).toBe(true);
  });
});

describe('mapConcurrent: properties', () => {
  it('under any interleaving: in flight <= concurrency, pulls <= taken + concurrency, every result once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.integer(), { maxLength: 25 }),
        async (s, concurrency, ordered, asyncSource, items) => {
          let inFlight = 0;
          let maxInFlight = 0;
          let pulled = 0;
          let taken = 0;
          function* syncItems() {
            for (const item of items) {
              pulled++;
              yield item;
            }
          }
          async function* asyncItems() {
            for (const item of items) {
              await s.schedule(Promise.resolve());
              pulled++;
              yield item;
            }
          }
          const source = asyncSource ? asyncItems() : syncItems();
          const fn = async (item: number, index: number) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await s.schedule(Promise.resolve());
            inFlight--;
            return { item, index };
          };
          const consume = (async () => {
            const out: { item: number; index: number }[] = [];
            for await (const result of mapConcurrent(source, fn, { concurrency, ordered })) {
              taken++;
              expect(pulled).toBeLessThanOrEqual(taken + concurrency);
              expect(inFlight).toBeLessThanOrEqual(concurrency);
              out.push(result);
              // A consumer that is sometimes slower than the calls.
              await s.schedule(Promise.resolve());
            }
            return out;
          })();
          const out = await s.waitFor(consume);
          expect(maxInFlight).toBeLessThanOrEqual(concurrency);
          if (ordered) expect(out.map((r) => r.index)).toEqual(items.map((_, i) => i));
          else
            expect(out.map((r) => r.index).sort((a, b) => a - b)).toEqual(items.map((_, i) => i));
          for (const { item, index } of out) expect(item).toBe(items[index]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
