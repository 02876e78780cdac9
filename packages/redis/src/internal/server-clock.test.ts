import { describe, expect, it } from 'vitest';
import { ServerClock } from './server-clock.js';

describe('ServerClock', () => {
  it('gives no deadline until a reply was seen', () => {
    expect(new ServerClock().deadline(0, 500)).toBe(0);
  });

  it('maps a local give-up time to Redis time with the smallest offset seen (an upper bound)', () => {
    const clock = new ServerClock();
    // Redis is 1_000_000_000 ms ahead; one-way delays of 3 ms and 1 ms.
    clock.sample((1_000_000_000 + 103) * 1000, 100);
    clock.sample((1_000_000_000 + 201) * 1000, 200);
    expect(clock.deadline(300, 800)).toBe((1_000_000_000 + 1 + 800) * 1000);
  });

  it('forgets samples older than two windows, and everything on reset', () => {
    const clock = new ServerClock();
    clock.sample(5_000_000, 0);
    expect(clock.deadline(1000, 1500)).toBeGreaterThan(0);
    expect(clock.deadline(11_000, 11_500)).toBe(0);
    clock.sample(20_000_000, 12_000);
    clock.reset();
    expect(clock.deadline(12_001, 12_500)).toBe(0);
  });

  it('places a Redis time on our clock no later than it can have happened', () => {
    const clock = new ServerClock();
    expect(clock.earliestLocal(5_000_000, 0)).toBeUndefined();
    // Redis is 1_000_000 ms ahead; the smallest one-way delay seen is 1 ms.
    clock.sample((1_000_000 + 103) * 1000, 100);
    clock.sample((1_000_000 + 201) * 1000, 200);
    // Redis read 1_000_250 ms: truly at local 250, estimated at 249 (never later than 250).
    expect(clock.earliestLocal((1_000_000 + 250) * 1000, 300)).toBe(249);
  });
});
