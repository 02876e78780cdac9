// Whether a Response's body is already wholly in memory (it was made from a string or bytes):
// then the handler's work is over when it returns, and nothing needs to watch the body to its
// end. Web APIs do not tell; Node's fetch (undici 6: Node 20, 22) keeps the value a body was made
// from in the Response's internal state, under a symbol. The symbol is found once, by probing
// two known responses; where the probe finds nothing (Bun, Deno, an undici that keeps its
// state in private fields) the answer is always false and every body is watched, as before.

interface StateLike {
  body?: { source?: unknown } | null;
}

type Probed = Record<symbol, StateLike | undefined>;

// undefined: not probed yet; null: this runtime keeps no readable source.
let sourceKey: symbol | null | undefined;

function sourceOf(response: Response, key: symbol): unknown {
  return (response as unknown as Probed)[key]?.body?.source;
}

function inMemory(source: unknown): boolean {
  return typeof source === 'string' || source instanceof Uint8Array;
}

/**
 * The runtime's own Response class: @hono/node-server's `serve()` replaces the global with a
 * lighter subclass of it, which keeps no such state (its responses are always watched). The
 * base class is probed, so the answer does not depend on whether `serve()` ran first.
 */
function nativeResponse(): typeof Response {
  let base = Response;
  for (let parent = Object.getPrototypeOf(base); parent !== Function.prototype; ) {
    base = parent;
    parent = Object.getPrototypeOf(base);
  }
  return base;
}

/** The symbol under which this runtime's Response keeps its body's source, if any. */
function findSourceKey(): symbol | null {
  try {
    const Native = nativeResponse();
    const buffered = new Native('probe');
    const streamed = new Native(new ReadableStream());
    for (const key of Object.getOwnPropertySymbols(buffered)) {
      // Both must agree: the string is found as it was given, and a stream body has none.
      if (sourceOf(buffered, key) === 'probe' && sourceOf(streamed, key) === null) return key;
    }
  } catch {
    // A runtime whose Response cannot be built like this: watch every body.
  }
  return null;
}

/**
 * True when `response`'s body was made from a string or bytes (`c.text()`, `c.json()`,
 * `c.html()` with a string, `c.body()` with a string or buffer, `new Response('...')`), which
 * Node's own Response lets us see. False for streams, blobs and form data, for any response
 * rebuilt from another's body stream, and on runtimes where it cannot be told.
 */
export function bodyInMemory(response: Response): boolean {
  if (sourceKey === undefined) sourceKey = findSourceKey();
  return sourceKey !== null && inMemory(sourceOf(response, sourceKey));
}
