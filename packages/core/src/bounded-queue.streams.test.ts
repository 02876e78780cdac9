import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.js';
import { ClosedError } from './errors.js';

// The web-streams bridge: readable() pulls from the queue with the queue's backpressure,
// writable() puts into it and waits while it is full.

async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('BoundedQueue readable() / writable()', () => {
  it('readable().pipeTo(writable()) between two queues keeps both bounded; the producer is blocked while full', async () => {
    const source = new BoundedQueue<number>(2);
    const sink = new BoundedQueue<number>(2);
    let produced = 0;
    const producer = (async () => {
      for (let i = 0; i < 20; i++) {
        await source.put(i);
        produced++;
      }
      source.close();
    })();
    const piping = source.readable().pipeTo(sink.writable());
    await flush();
    // Nobody consumes `sink`: it fills, the pipe holds one chunk in flight, `source` fills,
    // and the producer waits. Nothing anywhere grows past its capacity.
    expect(sink.size).toBe(2);
    expect(source.size).toBe(2);
    expect(produced).toBe(5); // 2 in sink, 1 in the pipe's pending put, 2 in source
    await flush();
    expect(produced).toBe(5);

    const received: number[] = [];
    for await (const item of sink) {
      received.push(item);
      expect(sink.size).toBeLessThanOrEqual(2);
      expect(source.size).toBeLessThanOrEqual(2);
    }
    // The source closed, the pipe closed the sink, so the loop ended.
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await piping;
    await producer;
    expect(sink.closed).toBe(true);
  });

  it('for await over readable() ends when the queue closes (after draining it)', async () => {
    const queue = new BoundedQueue<string>(4);
    await queue.put('a');
    await queue.put('b');
    const seen: string[] = [];
    const reading = (async () => {
      for await (const item of queue.readable() as unknown as AsyncIterable<string>)
        seen.push(item);
    })();
    await flush();
    expect(seen).toEqual(['a', 'b']);
    await queue.put('c');
    queue.close();
    await reading;
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('readable() buffers nothing: items stay in the queue until a reader asks', async () => {
    const queue = new BoundedQueue<number>(3);
    const stream = queue.readable();
    await queue.put(1);
    await queue.put(2);
    await flush();
    expect(queue.size).toBe(2);
    const reader = stream.getReader();
    expect(await reader.read()).toEqual({ value: 1, done: false });
    expect(queue.size).toBe(1);
    reader.releaseLock();
  });

  it('cancelling readable() ends that stream only: the queue stays open and a waiting read takes nothing', async () => {
    const queue = new BoundedQueue<number>(2);
    const reader = queue.readable().getReader();
    const read = reader.read();
    await flush();
    await reader.cancel('done with it');
    expect(await read).toEqual({ value: undefined, done: true });
    expect(queue.closed).toBe(false);
    await queue.put(9);
    expect(await queue.take()).toBe(9);
  });

  it('an item handed over in the very tick the stream is cancelled goes back to the head of the queue', async () => {
    const queue = new BoundedQueue<number>(2);
    const reader = queue.readable().getReader();
    const read = reader.read();
    await flush();
    // Delivered to the stream's waiting take, then cancelled before the stream could use it.
    expect(queue.tryPut(1)).toBe(true);
    expect(queue.tryPut(2)).toBe(true);
    void reader.cancel();
    expect((await read).done).toBe(true);
    await flush();
    expect(queue.size).toBe(2);
    expect(await queue.take()).toBe(1);
    expect(await queue.take()).toBe(2);
    expect(queue.unfinished).toBe(2);
  });

  it('writable(): a write waits while the queue is full', async () => {
    const queue = new BoundedQueue<number>(1);
    const writer = queue.writable().getWriter();
    await writer.write(1);
    let second = false;
    const writing = writer.write(2).then(() => {
      second = true;
    });
    await flush();
    expect(second).toBe(false);
    expect(queue.size).toBe(1);
    expect(await queue.take()).toBe(1);
    await writing;
    expect(await queue.take()).toBe(2);
  });

  it('closing the writable closes the queue; consumers still get what was written', async () => {
    const queue = new BoundedQueue<number>(4);
    const writer = queue.writable().getWriter();
    await writer.write(1);
    await writer.write(2);
    await writer.close();
    expect(queue.closed).toBe(true);
    const items: number[] = [];
    for await (const item of queue) items.push(item);
    expect(items).toEqual([1, 2]);
  });

  it('aborting the writable withdraws the write in flight (it never enters) and closes the queue', async () => {
    const queue = new BoundedQueue<number>(1);
    const writer = queue.writable().getWriter();
    await writer.write(1);
    const blocked = writer.write(2);
    await flush();
    const reason = new Error('producer failed');
    await writer.abort(reason);
    await expect(blocked).rejects.toBe(reason);
    expect(queue.closed).toBe(true);
    expect(queue.close({ drain: false })).toEqual([1]);
    expect(queue.unfinished).toBe(0);
  });

  it('a queue closed by someone else errors the writable with ClosedError', async () => {
    const queue = new BoundedQueue<number>(1);
    const writer = queue.writable().getWriter();
    queue.close();
    await expect(writer.write(1)).rejects.toBeInstanceOf(ClosedError);
  });
});
