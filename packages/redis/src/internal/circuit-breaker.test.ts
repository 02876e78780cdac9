import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.js';

describe('CircuitBreaker', () => {
  it('opens after `threshold` consecutive failures, probes once after the cool-down, closes on success', () => {
    let now = 0;
    const breaker = new CircuitBreaker(3, 1000, () => now);
    expect(breaker.admit()).toBe(true);
    expect(breaker.failure(false)).toBe(false);
    breaker.success(false); // a success resets the count
    expect([breaker.failure(false), breaker.failure(false), breaker.failure(false)]).toEqual([
      false,
      false,
      true,
    ]);
    expect(breaker.state).toBe('open');
    expect(breaker.admit()).toBe(false);
    now = 999;
    expect(breaker.admit()).toBe(false);
    now = 1000;
    expect(breaker.admit()).toBe('probe');
    expect(breaker.admit()).toBe(false); // one probe at a time
    breaker.success(true);
    expect(breaker.state).toBe('closed');
    expect(breaker.admit()).toBe(true);
  });

  it('a failed probe opens it for another cool-down; late failures of old calls change nothing', () => {
    let now = 0;
    const breaker = new CircuitBreaker(1, 500, () => now);
    expect(breaker.failure(false)).toBe(true);
    expect(breaker.failure(false)).toBe(false); // sent before it opened
    now = 500;
    expect(breaker.admit()).toBe('probe');
    expect(breaker.failure(true)).toBe(true);
    now = 999;
    expect(breaker.admit()).toBe(false);
    now = 1000;
    expect(breaker.admit()).toBe('probe');
  });
});
