// Helpers that hold a permit until the response is really over, and write headers onto it,
// with web-standard APIs only (plus duck-typing of what @hono/node-server puts in `c.env`).
import type { Context } from 'hono';
import { bodyInMemory } from './body-in-memory.js';

/** `await` only what needs it: a synchronous callback costs no extra microtask. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The parts of Node's `http.ServerResponse` we use; no `node:` import needed. */
interface NodeOutgoing {
  readonly closed: boolean;
  on(event: 'close', listener: () => void): unknown;
}

/**
 * @hono/node-server passes `{ incoming, outgoing }` as the env (some setups nest it under
 * `server`). Its `outgoing` emits 'close' once the response is over, however it ended.
 */
export function nodeOutgoing(env: unknown): NodeOutgoing | undefined {
  const bindings = env as { outgoing?: unknown; server?: { outgoing?: unknown } } | undefined;
  const outgoing = (bindings?.outgoing ?? bindings?.server?.outgoing) as NodeOutgoing | undefined;
  if (typeof outgoing?.on === 'function' && typeof outgoing.closed === 'boolean') return outgoing;
  return undefined;
}

/**
 * Whether the response now in `c.res` is over as soon as the handler has returned, so nothing
 * needs to watch it: a HEAD (Hono runs the GET route and drops its body unread), no body, a
 * body made from a string or bytes (all there already: the work it took is done), a body
 * someone else is reading already (we could not tell when it ends), or a client that is gone.
 * Never on @hono/node-server, whose 'close' also covers the sending.
 */
export function overOnReturn(c: Context): boolean {
  if (nodeOutgoing(c.env) !== undefined) return false;
  const response = c.res;
  if (bodyInMemory(response) || c.req.method === 'HEAD') return true;
  const body = response.body;
  return body === null || body.locked || c.req.raw.signal.aborted;
}

/**
 * Calls `done` once the response now in `c.res` is over: its body was read to the end, failed,
 * or was cancelled, or the client went away (the body would never be read). Call it after
 * `await next()`, so the permit is held for the whole handler too, and only when
 * `overOnReturn(c)` is false. `done` learns whether the client left first: `true` or `false`
 * from the stream, nothing from Node's 'close' (then the request's signal tells: passing it
 * would cost a closure per request).
 *
 * On @hono/node-server the Node response's 'close' says it all and costs one listener. Elsewhere
 * (Bun, Deno, workers, `app.request()`) the body is piped through a stream that reports its end.
 */
export function callWhenSent(c: Context, done: (clientLeft?: boolean) => void): void {
  const outgoing = nodeOutgoing(c.env);
  if (outgoing !== undefined) {
    // 'close' fires once; `on` spares the wrapper `once` would allocate per request.
    if (outgoing.closed) done();
    else outgoing.on('close', done);
    return;
  }
  const response = c.res;
  // Not null: `overOnReturn` said so.
  const body = response.body as ReadableStream<Uint8Array>;
  const signal = c.req.raw.signal;
  // A runtime may drop the Response of a client that left without cancelling its body.
  // One closure for both: the abort listener is called with an Event, the stream with a boolean.
  const finish = (cancelled: unknown): void => {
    signal.removeEventListener('abort', finish);
    done(cancelled === true || signal.aborted);
  };
  signal.addEventListener('abort', finish);
  try {
    c.res = new Response(notifyingBody(body, finish), response);
  } catch (error) {
    finish(false);
    throw error;
  }
}

/**
 * `body`, read on demand (no read-ahead), calling `done` when it ends or fails (`false`) or is
 * cancelled by its reader (`true`: the client went away).
 */
export function notifyingBody<T>(
  body: ReadableStream<T>,
  done: (cancelled: boolean) => void,
): ReadableStream<T> {
  const reader = body.getReader();
  return new ReadableStream<T>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<T>;
        try {
          chunk = await reader.read();
        } catch (error) {
          done(false);
          controller.error(error);
          return;
        }
        if (chunk.done) {
          done(false);
          controller.close();
        } else {
          controller.enqueue(chunk.value);
        }
      },
      cancel(reason) {
        done(true);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Sets `headers` on the response now in `c.res`: call it after `await next()`, so it covers
 * whatever made the response (`c.text()`, a `Response` of the handler's own, `onError`).
 * Not with `c.header()` before `next()`: prepared headers take Hono's `c.text()` off its fast
 * path (a bare `new Response(text)`) and have the Response copy them, which costs more than
 * the two `set`s here.
 */
export function setHeaders(c: Context, headers: Record<string, string>): void {
  let target = c.res.headers;
  try {
    for (const name in headers) target.set(name, headers[name] as string);
  } catch {
    // Immutable headers (a Response from fetch(), Response.redirect()): copy it first.
    c.res = new Response(c.res.body, c.res);
    target = c.res.headers;
    for (const name in headers) target.set(name, headers[name] as string);
  }
}

/**
 * The answer for a client that is already gone: nobody will read it, but Hono needs a Response.
 * 499 is nginx's "client closed request", so logs tell it apart from a refusal.
 */
export function clientGone(c: Context): Response {
  return c.body(null, 499 as 200);
}
