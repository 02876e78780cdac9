import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, type Expiring } from './deadlines.js';

describe('Deadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function item(deadline: number, log: number[]): Expiring {
    const it: Expiring = { deadline, done: false, expire: () => log.push(deadline) };
    return it;
  }

  it('expires what is still pending at its deadline, in order, with one timer', () => {
    const deadlines = new Deadlines(() => Date.now());
    const start = Date.now();
    const log: number[] = [];
    const items = [100, 200, 300].map((ms) => item(start + ms, log));
    for (const i of items) deadlines.add(i);
    expect(vi.getTimerCount()).toBe(1);
    items[1]!.done = true; // answered in time
    deadlines.prune();
    vi.advanceTimersByTime(150);
    expect(log).toEqual([start + 100]);
    vi.advanceTimersByTime(200);
    expect(log).toEqual([start + 100, start + 300]);
    expect(items.every((i) => i.done)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps no settled command: prune drops them as replies arrive', () => {
    const deadlines = new Deadlines(() => Date.now());
    const log: number[] = [];
    for (let n = 0; n < 5000; n++) {
      const i = item(Date.now() + 1000, log);
      deadlines.add(i);
      i.done = true;
      deadlines.prune();
    }
    vi.advanceTimersByTime(2000);
    expect(log).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an expire() that adds and settles at once (a caller retrying) leaves the queue sound', () => {
    const deadlines = new Deadlines(() => Date.now());
    const log: number[] = [];
    const start = Date.now();
    const retry = item(start + 300, log);
    const first: Expiring = {
      deadline: start + 100,
      done: false,
      expire: () => {
        log.push(start + 100);
        // A retry that fails at once (settled, pruned), then one that waits for its deadline.
        const failed = item(start + 200, log);
        deadlines.add(failed);
        failed.done = true;
        deadlines.prune();
        deadlines.add(retry);
      },
    };
    deadlines.add(first);
    vi.advanceTimersByTime(150);
    expect(log).toEqual([start + 100]);
    vi.advanceTimersByTime(200);
    expect(log).toEqual([start + 100, start + 300]);
    expect(retry.done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});
