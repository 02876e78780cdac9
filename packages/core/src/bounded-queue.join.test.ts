import { describe, expect, it, vi } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';
import { TimeoutError } from './errors.js';

// asyncio's Queue.join()/task_done(), with the cases of CPython's Lib/test/test_asyncio/
// test_queues.py (and tornado's test_queues.py for the delay case).

async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

async function isPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await flush();
  return !settled;
}

describe('BoundedQueue join() / taskDone()', () => {
  it('join waits for every taskDone (CPython test_task_done: two workers, 100 items)', async () => {
    const queue = new BoundedQueue<number>(100);
    for (let i = 0; i < 100; i++) expect(queue.tryPut(i)).toBe(true);
    let accumulator = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        const item = await queue.take();
        accumulator += item;
        await new Promise((resolve) => setTimeout(resolve, item % 3));
        queue.taskDone();
      }
    };
    const workers = [worker(), worker()];
    await queue.join();
    expect(accumulator).toBe(4950);
    expect(queue.unfinished).toBe(0);
    running = false;
    queue.close();
    await Promise.allSettled(workers);
  });

  it('it is taskDone, not take, that unblocks join (tornado test_task_done_delay)', async () => {
    const queue = new BoundedQueue<string>(2);
    await queue.put('a');
    await queue.put('b');
    const joined = queue.join();
    await queue.take();
    await queue.take();
    expect(queue.size).toBe(0);
    expect(queue.unfinished).toBe(2);
    expect(await isPending(joined)).toBe(true);
    queue.taskDone();
    expect(await isPending(joined)).toBe(true);
    queue.taskDone();
    await joined;
  });

  it('taskDone called more often than items were taken throws RangeError (CPython test_task_done_underflow)', async () => {
    const queue = new BoundedQueue<number>(4);
    expect(() => queue.taskDone()).toThrow(RangeError);
    expect(() => queue.taskDone()).toThrow(
      'taskDone() was called more often than items were taken (unfinished: 0, in the queue: 0)',
    );
    // An item put but not taken yet cannot be done either.
    await queue.put(1);
    expect(() => queue.taskDone()).toThrow('(unfinished: 1, in the queue: 1)');
    await queue.take();
    queue.taskDone();
    expect(() => queue.taskDone()).toThrow(RangeError);
    expect(queue.unfinished).toBe(0);
  });

  it('join resolves at once on an empty queue, twice (CPython test_join_empty_queue)', async () => {
    const queue = new BoundedQueue<number>(1);
    await queue.join();
    await queue.join();
  });

  it('join after close still waits for the items left to be taken and marked done', async () => {
    const queue = new BoundedQueue<number>(4);
    await queue.put(1);
    await queue.put(2);
    queue.close();
    const joined = queue.join();
    expect(await isPending(joined)).toBe(true);
    for await (const _item of queue) queue.taskDone();
    await joined;
    await queue.join();
  });

  it('close({ drain: false }) counts the discarded items as done; items in hand still need taskDone', async () => {
    const queue = new BoundedQueue<number>(4);
    for (const i of [1, 2, 3]) await queue.put(i);
    await queue.take();
    const joined = queue.join();
    expect(queue.close({ drain: false })).toEqual([2, 3]);
    expect(queue.unfinished).toBe(1);
    expect(await isPending(joined)).toBe(true);
    queue.taskDone();
    await joined;
  });

  it('counts items as they enter: a waiting putter’s item does not count until admitted; an aborted put never does', async () => {
    const queue = new BoundedQueue<string>(1);
    await queue.put('a');
    const controller = new AbortController();
    const aborted = queue.put('x', { signal: controller.signal });
    const waiting = queue.put('b');
    expect(queue.unfinished).toBe(1);
    controller.abort();
    await expect(aborted).rejects.toBeDefined();
    expect(queue.unfinished).toBe(1);
    expect(await queue.take()).toBe('a');
    await waiting;
    expect(queue.unfinished).toBe(2);
    expect(await queue.take()).toBe('b');
    queue.taskDone();
    queue.taskDone();
    expect(queue.unfinished).toBe(0);
  });

  it('capacity 0: a hand-over counts as taken at once', async () => {
    const queue = new BoundedQueue<number>(0);
    const taking = queue.take();
    await queue.put(7);
    expect(await taking).toBe(7);
    expect(queue.unfinished).toBe(1);
    queue.taskDone();
    const put = queue.put(8);
    expect(queue.unfinished).toBe(0);
    expect(await queue.take()).toBe(8);
    await put;
    expect(queue.unfinished).toBe(1);
    queue.taskDone();
    await queue.join();
  });

  it('join rejects with TimeoutError past its timeout and with signal.reason on abort, leaving nothing behind', async () => {
    vi.useFakeTimers();
    try {
      const queue = new BoundedQueue<number>(1);
      await queue.put(1);
      const timed = expect(queue.join({ timeout: 100 })).rejects.toBeInstanceOf(TimeoutError);
      await vi.advanceTimersByTimeAsync(100);
      await timed;
      await expect(queue.join({ timeout: 0 })).rejects.toThrow(
        'BoundedQueue join timed out after 0 ms',
      );
      const controller = new AbortController();
      const aborted = queue.join({ signal: controller.signal });
      controller.abort('enough');
      await expect(aborted).rejects.toBe('enough');
      await expect(queue.join({ signal: AbortSignal.abort('pre') })).rejects.toBe('pre');
      await expect(queue.join({ timeout: -1 })).rejects.toThrow(
        'Expected `options.timeout` to be a finite number >= 0, got -1',
      );
      expect(vi.getTimerCount()).toBe(0);
      expect(queue.unfinished).toBe(1);
      await queue.take();
      queue.taskDone();
      await queue.join();
    } finally {
      vi.useRealTimers();
    }
  });
});
