// Remote limiters (their answers come late, as from a shared store) on a real
// @hono/node-server: a client that leaves while the answer is pending needs sockets.
import { getEventListeners } from 'node:events';
import { UnavailableError } from '@sluice/core';
import { RemoteKeyedLimiter, RemoteLimiter, RemoteRateLimiter } from '@sluice/test-limiters';
import { Hono, type MiddlewareHandler } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concurrency, rateLimit } from '../src/index.js';
import { deferred, type Served, serveApp, sleep } from './helpers.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

/**
 * `limit` in front of a handler that counts its calls; an outer middleware records the status
 * of every response the app produced (499: the client was gone, nothing for anyone to read).
 */
function recordingApp(limit: MiddlewareHandler, hold?: Promise<void>) {
  const app = new Hono();
  const seen = { handled: 0, statuses: [] as number[], errors: [] as unknown[] };
  app.use(async (c, next) => {
    await next();
    seen.statuses.push(c.res.status);
  });
  app.get('/', limit, async (c) => {
    seen.handled++;
    if (hold !== undefined) await hold;
    return c.text('ok');
  });
  app.onError((error, c) => {
    seen.errors.push(error);
    return c.text(error.message, 500);
  });
  return { app, seen };
}

interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

async function get(path: string, headers?: Record<string, string>): Promise<Reply> {
  const response = await fetch(`${served!.url}${path}`, { headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

function expectProblem(reply: Reply, status: number, reason: string): void {
  expect(reply.status).toBe(status);
  expect(reply.headers.get('content-type')).toBe('application/problem+json');
  expect(reply.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
  expect(JSON.parse(reply.body)).toMatchObject({ status, reason });
}

/** Starts a request, waits until `pending()` says the limiter has it, then hangs up. */
async function leaveWhilePending(pending: () => number): Promise<void> {
  const client = new AbortController();
  const request = fetch(`${served!.url}/`, { signal: client.signal });
  await vi.waitFor(() => expect(pending()).toBe(1), { interval: 2 });
  client.abort();
  await expect(request).rejects.toThrow();
}

describe('rateLimit({ limiter }) with a tryTake that answers late', () => {
  it('admits, then refuses with 429 and RateLimit headers, as the store decides', async () => {
    const limiter = new RemoteRateLimiter({ capacity: 2, refillPerSecond: 0.001, delayMs: 50 });
    const { app, seen } = recordingApp(rateLimit({ limiter, key: () => 'k' }));
    served = await serveApp(app);
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await get('/'));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(replies.map((r) => r.headers.get('ratelimit'))).toEqual([
      '"rate-limit";r=1;t=1000',
      '"rate-limit";r=0;t=2000',
      '"rate-limit";r=0;t=2000',
    ]);
    expectProblem(replies[2]!, 429, 'rate_limited');
    expect(seen.handled).toBe(2);
  });

  for (const outcome of ['grant', 'refusal'] as const) {
    it(`a client that leaves while tryTake is pending: the late ${outcome} reaches nobody, the handler never runs`, async () => {
      const limiter = new RemoteRateLimiter({
        capacity: 1,
        refillPerSecond: 0.001,
        delayMs: 100,
      });
      if (outcome === 'refusal') limiter.inner.tryTake('k');
      const { app, seen } = recordingApp(rateLimit({ limiter, key: () => 'k' }));
      served = await serveApp(app);
      await leaveWhilePending(() => limiter.pending);
      await vi.waitFor(() => expect(seen.statuses).toEqual([499]));
      expect(limiter.pending).toBe(0);
      expect(seen.handled).toBe(0);
      expect(seen.errors).toEqual([]);
    });
  }

  it('an UnavailableError answers 503 unavailable with Retry-After, never 429', async () => {
    const limiter = new RemoteRateLimiter({ capacity: 5, refillPerSecond: 1, delayMs: 20 });
    limiter.fail = new UnavailableError();
    const { app, seen } = recordingApp(rateLimit({ limiter, key: () => 'k' }));
    served = await serveApp(app);
    expectProblem(await get('/'), 503, 'unavailable');
    expect(seen.handled).toBe(0);
  });

  it('any other failure goes to onError', async () => {
    const limiter = new RemoteRateLimiter({ capacity: 5, refillPerSecond: 1, delayMs: 20 });
    limiter.fail = new Error('store bug');
    const { app, seen } = recordingApp(rateLimit({ limiter, key: () => 'k' }));
    served = await serveApp(app);
    expect(await get('/')).toMatchObject({ status: 500, body: 'store bug' });
    expect(seen.errors).toHaveLength(1);
  });

  it('a degraded grant admits, without RateLimit headers (no count is known)', async () => {
    const limiter = new RemoteRateLimiter({ capacity: 5, refillPerSecond: 1, delayMs: 20 });
    limiter.degraded = true;
    const { app, seen } = recordingApp(rateLimit({ limiter, key: () => 'k' }));
    served = await serveApp(app);
    const reply = await get('/');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('ratelimit')).toBeNull();
    expect(seen.handled).toBe(1);
  });
});

describe('concurrency({ limit }) with a Limiter that has no tryAcquire', () => {
  it('goes straight to acquire({ signal, timeout, weight }) and admits or refuses as it answers', async () => {
    const limiter = new RemoteLimiter(1, { delayMs: 30 });
    const gate = deferred();
    const { app, seen } = recordingApp(
      concurrency({ limit: limiter, timeout: 100, weight: () => 1 }),
      gate.promise,
    );
    served = await serveApp(app);
    const first = get('/');
    await vi.waitFor(() => expect(limiter.inUse).toBe(1));
    expectProblem(await get('/'), 503, 'queue_timeout');
    gate.resolve();
    expect((await first).status).toBe(200);
    await vi.waitFor(() => expect(limiter.inUse).toBe(0));
    expect(seen.handled).toBe(1);
    expect(limiter.seen[0]).toMatchObject({ timeout: 100, weight: 1 });
    expect(limiter.seen[0]!.signal).toBeInstanceOf(AbortSignal);
  });

  for (const honourSignal of [true, false]) {
    it(`a client that leaves while acquire is pending leaves nothing behind (limiter ${honourSignal ? 'honours' : 'ignores'} the signal)`, async () => {
      const limiter = new RemoteLimiter(1, { delayMs: 100, honourSignal });
      const { app, seen } = recordingApp(concurrency({ limit: limiter }));
      served = await serveApp(app);
      await leaveWhilePending(() => limiter.pending);
      await vi.waitFor(() => expect(seen.statuses).toEqual([499]));
      await sleep(10);
      expect(limiter.pending).toBe(0);
      // Granted late (when the signal is ignored), the permit went straight back.
      expect(limiter.acquired).toBe(honourSignal ? 0 : 1);
      expect(limiter.inUse).toBe(0);
      expect(seen.handled).toBe(0);
      const signal = limiter.seen[0]!.signal!;
      expect(signal.aborted).toBe(true);
      expect(getEventListeners(signal, 'abort')).toEqual([]);
    });
  }

  it('an UnavailableError answers 503 unavailable with the Retry-After of `retryAfter`', async () => {
    const limiter = new RemoteLimiter(1, { delayMs: 20 });
    limiter.fail = new UnavailableError();
    const { app, seen } = recordingApp(concurrency({ limit: limiter, retryAfter: 3 }));
    served = await serveApp(app);
    const reply = await get('/');
    expectProblem(reply, 503, 'unavailable');
    expect(reply.headers.get('retry-after')).toBe('3');
    expect(seen.handled).toBe(0);
  });

  it('a remote KeyedLimiter: per-client limits, 429 for the saturated client, 503 if unavailable', async () => {
    const limiter = new RemoteKeyedLimiter(1, { delayMs: 20 });
    const gate = deferred();
    const { app } = recordingApp(
      concurrency({ limit: limiter, key: (c) => c.req.header('x-client') ?? '' }),
      gate.promise,
    );
    served = await serveApp(app);
    const first = get('/', { 'x-client': 'a' });
    await vi.waitFor(() => expect(limiter.inner.stats('a')?.inUse).toBe(1));
    expectProblem(await get('/', { 'x-client': 'a' }), 429, 'queue_full');
    gate.resolve();
    expect((await first).status).toBe(200);
    expect((await get('/', { 'x-client': 'b' })).status).toBe(200);
    await vi.waitFor(() => expect(limiter.inner.size).toBe(0));
    // The store being down is the server's state: 503 even for a per-client limit.
    limiter.fail = new UnavailableError();
    expectProblem(await get('/', { 'x-client': 'a' }), 503, 'unavailable');
  });
});
