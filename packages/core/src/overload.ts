/**
 * Whether an error says "the downstream is overloaded", so that an adaptive limit should count
 * the work as dropped rather than as a latency sample. `AdaptiveSemaphore.run` uses it.
 *
 * True for:
 * - a sluice `TimeoutError` (`code: 'TIMEOUT'`) and Node's `ETIMEDOUT` errors;
 * - an error named `TimeoutError`, such as the `DOMException` that `AbortSignal.timeout()` aborts with;
 * - any error you mark yourself with `overload: true` (e.g. on a 503 or 429 from downstream).
 *
 * @example
 * const response = await fetch(url);
 * if (response.status === 503) throw Object.assign(new Error('busy'), { overload: true });
 */
export function isOverload(error: unknown): boolean {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return false;
  const { code, name, overload } = error as { code?: unknown; name?: unknown; overload?: unknown };
  return overload === true || code === 'TIMEOUT' || code === 'ETIMEDOUT' || name === 'TimeoutError';
}
