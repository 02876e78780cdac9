import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { statsStream } from './stats-stream.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const decoder = new TextDecoder();
const text = (chunk: Uint8Array | undefined) => decoder.decode(chunk);

describe('statsStream', () => {
  it('sends retry, a frame at once, then one frame per interval', async () => {
    let n = 0;
    const reader = statsStream(() => ({ n: ++n }), { intervalMs: 100 }).getReader();
    expect(text((await reader.read()).value)).toBe('retry: 1000\n\n');
    expect(text((await reader.read()).value)).toBe('data: {"n":1}\n\n');
    await vi.advanceTimersByTimeAsync(100);
    expect(text((await reader.read()).value)).toBe('data: {"n":2}\n\n');
    await vi.advanceTimersByTimeAsync(200);
    expect(text((await reader.read()).value)).toBe('data: {"n":3}\n\n');
    expect(text((await reader.read()).value)).toBe('data: {"n":4}\n\n');
    await reader.cancel();
  });

  it('drops frames for a client that does not read, rather than queueing them', async () => {
    let n = 0;
    const stream = statsStream(() => ++n, { intervalMs: 100 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(n).toBeLessThanOrEqual(4); // a queue of 4 chunks, then read() is not called
    const reader = stream.getReader();
    const chunks = [];
    for (let i = 0; i < 4; i++) chunks.push(text((await reader.read()).value));
    expect(chunks.at(-1)).toBe(`data: ${n}\n\n`);
    await reader.cancel();
  });

  it('stops its timer when the client cancels', async () => {
    const read = vi.fn(() => 1);
    const reader = statsStream(read, { intervalMs: 100 }).getReader();
    await reader.read();
    expect(vi.getTimerCount()).toBe(1);
    await reader.cancel();
    expect(vi.getTimerCount()).toBe(0);
    const calls = read.mock.calls.length;
    await vi.advanceTimersByTimeAsync(1000);
    expect(read).toHaveBeenCalledTimes(calls);
  });

  it('ends when its signal aborts, and at once if it already has', async () => {
    const controller = new AbortController();
    const reader = statsStream(() => 1, { signal: controller.signal }).getReader();
    await reader.read();
    await reader.read();
    controller.abort();
    expect(await reader.read()).toEqual({ done: true, value: undefined });
    expect(vi.getTimerCount()).toBe(0);
    const done = statsStream(() => 1, { signal: AbortSignal.abort() }).getReader();
    expect(await done.read()).toEqual({ done: true, value: undefined });
  });

  it('refuses an interval that is not a number >= 10', () => {
    expect(() => statsStream(() => 1, { intervalMs: 5 })).toThrow(
      /`intervalMs` to be a number >= 10, got 5/,
    );
  });
});
