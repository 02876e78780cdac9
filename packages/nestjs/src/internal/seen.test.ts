import { describe, expect, it, vi } from 'vitest';
import { seenByConcurrency, seenByRateLimit } from './seen.js';

describe('seenByConcurrency / seenByRateLimit', () => {
  it('is false the first time a request is met and true after, per guard kind', () => {
    const req = {};
    expect(seenByConcurrency(req)).toBe(false);
    expect(seenByConcurrency(req)).toBe(true);
    // The rate-limit guard's mark is its own.
    expect(seenByRateLimit(req)).toBe(false);
    expect(seenByRateLimit(req)).toBe(true);
    expect(seenByConcurrency({})).toBe(false);
  });

  it('leaves the request enumerable as it was (the mark is a symbol)', () => {
    const req = { url: '/' };
    seenByConcurrency(req);
    expect(Object.keys(req)).toEqual(['url']);
    expect(JSON.stringify(req)).toBe('{"url":"/"}');
  });

  it('marks requests that cannot take properties all the same', () => {
    for (const req of [Object.freeze({}), Object.seal({}), Object.preventExtensions({})]) {
      expect(seenByConcurrency(req)).toBe(false);
      expect(seenByConcurrency(req)).toBe(true);
      expect(seenByRateLimit(req)).toBe(false);
      expect(seenByRateLimit(req)).toBe(true);
    }
  });

  it('shares the mark with another copy of the module (the ESM and CJS builds)', async () => {
    const req = {};
    expect(seenByConcurrency(req)).toBe(false);
    vi.resetModules();
    const other = await import('./seen.js');
    expect(other.seenByConcurrency).not.toBe(seenByConcurrency);
    expect(other.seenByConcurrency(req)).toBe(true);
    const frozen = Object.freeze({});
    expect(seenByRateLimit(frozen)).toBe(false);
    expect(other.seenByRateLimit(frozen)).toBe(true);
  });
});
