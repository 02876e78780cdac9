// Which requests a guard has already handled, so that a guard registered globally and on a
// route (or twice) acts once per request. A symbol-keyed mark on the request: a profile of the
// guard's uncontended path put the WeakSet this used to be (`has` + `add`, and the ephemeron
// table the collector then walks) at a fifth of the guard's own time. Admitted requests get
// `req.sluice` anyway, so the mark costs their shape nothing new in kind. The symbols come from
// the global registry, so the ESM and CJS builds (or two installed copies) see the same mark. A
// request object that cannot take properties (frozen, sealed) falls back to a WeakSet.

const CONCURRENCY = Symbol.for('sluice:nestjs:seen:concurrency');
const RATE_LIMIT = Symbol.for('sluice:nestjs:seen:rateLimit');

type Marked = Record<symbol, unknown>;

const KEY = Symbol.for('sluice:nestjs:seen:fallback');
const fallback: Record<symbol, WeakSet<object>> = ((globalThis as Marked)[KEY] as
  | Record<symbol, WeakSet<object>>
  | undefined) ?? { [CONCURRENCY]: new WeakSet(), [RATE_LIMIT]: new WeakSet() };
(globalThis as Marked)[KEY] = fallback;

function seen(req: object, mark: symbol): boolean {
  if ((req as Marked)[mark] === true) return true;
  if (Object.isExtensible(req)) {
    (req as Marked)[mark] = true;
    return false;
  }
  const set = fallback[mark] as WeakSet<object>;
  if (set.has(req)) return true;
  set.add(req);
  return false;
}

/** True if the concurrency guard (or interceptor) met `req` before; marks it otherwise. */
export function seenByConcurrency(req: object): boolean {
  return seen(req, CONCURRENCY);
}

/** True if the rate-limit guard met `req` before; marks it otherwise. */
export function seenByRateLimit(req: object): boolean {
  return seen(req, RATE_LIMIT);
}
