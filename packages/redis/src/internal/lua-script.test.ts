import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { integerArg, LuaScript } from './lua-script.js';

describe('integerArg', () => {
  it('prints every integer below 2^53 exactly as String does', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(integerArg(n)).toBe(String(n));
      }),
      { numRuns: 20_000 },
    );
  });

  it('prints µs timestamps and the edges of each half exactly', () => {
    const now = Math.round((performance.timeOrigin + performance.now()) * 1000);
    const edges = [0, 1, 99_999_999, 1e8, 1e8 + 1, 1e15, 1e15 - 1, now, 2 ** 53 - 1];
    for (let k = 1; k < 1e8; k *= 7) edges.push(k * 1e8 - 1, k * 1e8, k * 1e8 + 1);
    for (const n of edges) expect(integerArg(n)).toBe(String(n));
  });
});

describe('LuaScript', () => {
  it('puts the prelude (TIME, the deadline check) before the body and hashes the whole', async () => {
    const script = new LuaScript('return {1, now}');
    expect(script.source).toMatch(/^local t = redis\.call\('TIME'\)/);
    expect(script.source.endsWith('return {1, now}')).toBe(true);
    const { createHash } = await import('node:crypto');
    expect(script.sha).toBe(createHash('sha1').update(script.source).digest('hex'));
  });
});
