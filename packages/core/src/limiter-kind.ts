/**
 * The brand by which adapters tell limiters apart, never by an object's shape. A global symbol
 * (`Symbol.for`), so that the ESM and CJS builds, or two installed copies of core, agree on it.
 * Core's limiters carry it; a limiter of your own carries it the same way:
 *
 * @example
 * class MyLimiter implements Limiter {
 *   readonly [limiterKind] = 'limiter' as const;
 *   acquire(options?: AcquireOptions): Promise<Permit> { ... }
 * }
 */
export const limiterKind: unique symbol = Symbol.for('sluice.limiterKind') as never;

/**
 * What a branded limiter is: `limiter` (one shared limit: `acquire(options)`), `keyed-limiter`
 * (one limit per key: `acquire(key, options)`) or `rate-limiter` (`tryTake(key, tokens)`).
 */
export type LimiterKind = 'limiter' | 'keyed-limiter' | 'rate-limiter';

/** The brand an object carries, or undefined for anything unbranded (a primitive included). */
export function limiterKindOf(value: unknown): LimiterKind | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    return undefined;
  }
  const kind = (value as { [limiterKind]?: unknown })[limiterKind];
  return kind === 'limiter' || kind === 'keyed-limiter' || kind === 'rate-limiter'
    ? kind
    : undefined;
}
