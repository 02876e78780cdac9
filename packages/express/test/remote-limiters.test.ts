import { getEventListeners } from 'node:events';
import { UnavailableError } from '@sluice/core';
import { RemoteKeyedLimiter, RemoteLimiter, RemoteRateLimiter } from '@sluice/test-limiters';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concurrency, rateLimit } from '../src/index.js';
import {
  deferred,
  type ExpressFactory,
  expectProblem,
  frameworks,
  listen,
  openRequest,
  type Running,
  request,
  sleep,
} from './helpers.js';

/**
 * An app whose first middleware records each response (to prove later that nothing was written
 * and no listener was left on it), with `limit` in front of a handler that counts its calls.
 */
function recordingApp(express: ExpressFactory, limit: RequestHandler, hold?: Promise<void>) {
  const app = express();
  const responses: { res: Response }[] = [];
  const seen = { handled: 0, errors: [] as unknown[] };
  app.use((_req, res, next) => {
    responses.push({ res });
    next();
  });
  app.get('/', limit, async (_req, res) => {
    seen.handled++;
    if (hold !== undefined) await hold;
    res.send('ok');
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    seen.errors.push(error);
    res.status(500).send(error instanceof Error ? error.message : 'error');
  });
  return { app, responses, seen };
}

/** Nothing was written to the response of a client that left. */
function expectUntouched(entry: { res: Response }): void {
  expect(entry.res.headersSent).toBe(false);
  expect(entry.res.writableEnded).toBe(false);
}

/** Starts a request, waits until `pending()` says the limiter has it, then hangs up. */
async function leaveWhilePending(port: number, pending: () => number): Promise<void> {
  const { req } = openRequest(port, '/');
  await vi.waitFor(() => expect(pending()).toBe(1), { interval: 2 });
  req.destroy();
}

describe.each(frameworks)('remote limiters on %s', (_label, express) => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  describe('rateLimit({ limiter }) with a tryTake that answers late', () => {
    it('admits, then refuses with 429 and RateLimit headers, as the store decides', async () => {
      const limiter = new RemoteRateLimiter({ capacity: 2, refillPerSecond: 0.001, delayMs: 50 });
      const { app, seen } = recordingApp(express, rateLimit({ limiter, key: () => 'k' }));
      running = await listen(app);
      const replies = [];
      for (let i = 0; i < 3; i++) replies.push(await request(running.port, '/'));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 429]);
      expect(replies.map((r) => r.headers.ratelimit)).toEqual([
        '"rate-limit";r=1;t=1000',
        '"rate-limit";r=0;t=2000',
        '"rate-limit";r=0;t=2000',
      ]);
      expectProblem(replies[2]!, 429, 'rate_limited');
      expect(seen.handled).toBe(2);
      expect(limiter.calls).toBe(3);
    });

    it('a client that leaves while tryTake is pending gets nothing written and leaves nothing behind', async () => {
      const limiter = new RemoteRateLimiter({ capacity: 5, refillPerSecond: 1, delayMs: 100 });
      const { app, responses, seen } = recordingApp(express, rateLimit({ limiter }));
      running = await listen(app);
      await leaveWhilePending(running.port, () => limiter.pending);
      await vi.waitFor(() => expect(limiter.pending).toBe(0));
      await sleep(20);
      expect(seen).toEqual({ handled: 0, errors: [] });
      expect(responses).toHaveLength(1);
      expectUntouched(responses[0]!);
      // The server serves the next client as usual.
      expect((await request(running.port, '/')).status).toBe(200);
    });

    it('a refusal that comes after the client left is not written either', async () => {
      const limiter = new RemoteRateLimiter({ capacity: 1, refillPerSecond: 0.001, delayMs: 100 });
      const { app, responses, seen } = recordingApp(
        express,
        rateLimit({ limiter, key: () => 'k' }),
      );
      running = await listen(app);
      expect((await request(running.port, '/')).status).toBe(200);
      await leaveWhilePending(running.port, () => limiter.pending);
      await vi.waitFor(() => expect(limiter.pending).toBe(0));
      await sleep(20);
      expect(seen).toEqual({ handled: 1, errors: [] });
      expectUntouched(responses[1]!);
    });

    it('an UnavailableError answers 503 unavailable with Retry-After, never 429', async () => {
      const limiter = new RemoteRateLimiter({ capacity: 5, refillPerSecond: 1, delayMs: 20 });
      limiter.fail = new UnavailableError();
      const { app, seen } = recordingApp(express, rateLimit({ limiter }));
      running = await listen(app);
      const reply = await request(running.port, '/');
      expectProblem(reply, 503, 'unavailable');
      expect(seen).toEqual({ handled: 0, errors: [] });
    });

    it('any other failure goes to the error path', async () => {
      const limiter = new RemoteRateLimiter({ capacity: 5, refillPerSecond: 1, delayMs: 20 });
      limiter.fail = new Error('store bug');
      const { app, seen } = recordingApp(express, rateLimit({ limiter }));
      running = await listen(app);
      expect(await request(running.port, '/')).toMatchObject({ status: 500, body: 'store bug' });
      expect(seen.errors).toHaveLength(1);
    });

    it('a degraded grant admits, without RateLimit headers (no count is known)', async () => {
      const limiter = new RemoteRateLimiter({ capacity: 5, refillPerSecond: 1, delayMs: 20 });
      limiter.degraded = true;
      const { app, seen } = recordingApp(express, rateLimit({ limiter }));
      running = await listen(app);
      const reply = await request(running.port, '/');
      expect(reply.status).toBe(200);
      expect(reply.headers.ratelimit).toBeUndefined();
      expect(seen.handled).toBe(1);
    });
  });

  describe('concurrency({ limit }) with a Limiter that has no tryAcquire', () => {
    it('goes straight to acquire({ signal, timeout, weight }) and admits or refuses as it answers', async () => {
      const limiter = new RemoteLimiter(1, { delayMs: 30 });
      const gate = deferred();
      const { app, seen } = recordingApp(
        express,
        concurrency({ limit: limiter, timeout: 100, weight: () => 1 }),
        gate.promise,
      );
      running = await listen(app);
      const first = request(running.port, '/');
      await vi.waitFor(() => expect(limiter.inUse).toBe(1));
      expectProblem(await request(running.port, '/'), 503, 'queue_timeout');
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
        const { app, responses, seen } = recordingApp(express, concurrency({ limit: limiter }));
        running = await listen(app);
        await leaveWhilePending(running.port, () => limiter.pending);
        await vi.waitFor(() => expect(limiter.pending).toBe(0));
        await sleep(20);
        // Granted late (when the signal is ignored), the permit went straight back.
        expect(limiter.acquired).toBe(honourSignal ? 0 : 1);
        expect(limiter.inUse).toBe(0);
        expect(seen).toEqual({ handled: 0, errors: [] });
        expectUntouched(responses[0]!);
        // The signal the adapter passed aborted, and nothing listens to it any more.
        const signal = limiter.seen[0]!.signal!;
        expect(signal.aborted).toBe(true);
        expect(getEventListeners(signal, 'abort')).toEqual([]);
      });
    }

    it('an UnavailableError answers 503 unavailable with the Retry-After of `retryAfter`', async () => {
      const limiter = new RemoteLimiter(1, { delayMs: 20 });
      limiter.fail = new UnavailableError();
      const { app, seen } = recordingApp(express, concurrency({ limit: limiter, retryAfter: 3 }));
      running = await listen(app);
      const reply = await request(running.port, '/');
      expectProblem(reply, 503, 'unavailable');
      expect(reply.headers['retry-after']).toBe('3');
      expect(seen.handled).toBe(0);
    });

    it('a remote KeyedLimiter: per-client limits, 429 for the saturated client, 503 if unavailable', async () => {
      const limiter = new RemoteKeyedLimiter(1, { delayMs: 20 });
      const gate = deferred();
      const { app } = recordingApp(
        express,
        concurrency({ limit: limiter, key: (req) => String(req.get('x-client')) }),
        gate.promise,
      );
      running = await listen(app);
      const a = { headers: { 'x-client': 'a' } };
      const first = request(running.port, '/', a);
      await vi.waitFor(() => expect(limiter.inner.stats('a')?.inUse).toBe(1));
      expectProblem(await request(running.port, '/', a), 429, 'queue_full');
      gate.resolve();
      expect((await first).status).toBe(200);
      expect((await request(running.port, '/', { headers: { 'x-client': 'b' } })).status).toBe(200);
      await vi.waitFor(() => expect(limiter.inner.size).toBe(0));
      // The store being down is the server's state: 503 even for a per-client limit.
      limiter.fail = new UnavailableError();
      expectProblem(await request(running.port, '/', a), 503, 'unavailable');
    });
  });
});
