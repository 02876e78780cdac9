// Which requests a guard has already handled, so that a guard registered globally and on a
// route (or twice) acts once per request. A WeakSet rather than a mark on the request: adding
// properties to Node's request object slows every later property access on it. Kept on
// globalThis so the ESM and CJS builds (or two installed copies) share it.

type Registry = { concurrency: WeakSet<object>; rateLimit: WeakSet<object> };

const KEY = Symbol.for('sluice:nestjs:seen');
const registry: Registry = ((globalThis as Record<symbol, unknown>)[KEY] as
  | Registry
  | undefined) ?? {
  concurrency: new WeakSet(),
  rateLimit: new WeakSet(),
};
(globalThis as Record<symbol, unknown>)[KEY] = registry;

/** True if the concurrency guard (or interceptor) met `req` before; marks it otherwise. */
export function seenByConcurrency(req: object): boolean {
  if (registry.concurrency.has(req)) return true;
  registry.concurrency.add(req);
  return false;
}

/** True if the rate-limit guard met `req` before; marks it otherwise. */
export function seenByRateLimit(req: object): boolean {
  if (registry.rateLimit.has(req)) return true;
  registry.rateLimit.add(req);
  return false;
}
