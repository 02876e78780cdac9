// An adaptive limit learns from how each request ended: on a real @hono/node-server (a client
// that leaves needs a socket), and through `app.request()` (the body-stream path of other
// runtimes).
import { TimeoutError } from '@sluice/core';
import { AdaptiveLimiter } from '@sluice/test-limiters';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { stream } from 'hono/streaming';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ConcurrencyEnv,
  type ConcurrencyOptions,
  concurrency,
  type RequestOutcome,
} from '../src/index.js';
import { deferred, type Served, serveApp } from './helpers.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

/** Routes that end in each way an adaptive limit tells apart, all behind one `concurrency()`. */
function app(limiter: AdaptiveLimiter, extra: Partial<ConcurrencyOptions> = {}) {
  const gate = deferred();
  const left = deferred();
  const app = new Hono<ConcurrencyEnv>();
  app.use(concurrency({ limit: limiter, ...extra }));
  app.get('/status/:code', (c) => c.text('answer', Number(c.req.param('code')) as 200));
  app.get('/stream', (c) =>
    stream(c, async (s) => {
      await s.write('answer');
    }),
  );
  app.get('/timeout', () => {
    throw new TimeoutError(50);
  });
  app.get('/boom', () => {
    throw new Error('boom');
  });
  app.get('/unavailable', () => {
    throw new HTTPException(503);
  });
  app.get('/hold', async (c) => {
    c.var.sluice.signal.addEventListener('abort', () => left.resolve());
    await gate.promise;
    return c.text('late');
  });
  // Hono's default handler would log every error these tests throw on purpose.
  app.onError((error, c) =>
    error instanceof HTTPException ? error.getResponse() : c.text(error.message, 500),
  );
  return { app, gate, left };
}

describe.each([
  ['@hono/node-server', true],
  ['app.request()', false],
])('concurrency() with an adaptive limit on %s', (_label, overNode) => {
  async function endingOf(server: Hono<ConcurrencyEnv>, limiter: AdaptiveLimiter, path: string) {
    const before = limiter.endings.length;
    if (overNode) {
      served ??= await serveApp(server);
      await (await fetch(`${served.url}${path}`)).text();
    } else {
      await (await server.request(path)).text();
    }
    await vi.waitFor(() => expect(limiter.endings.length).toBe(before + 1));
    return limiter.endings.at(-1);
  }

  it('200 -> release; 503 and 504 -> drop; a thrown TimeoutError -> drop; other errors -> release', async () => {
    const limiter = new AdaptiveLimiter(2);
    const { app: server } = app(limiter);
    expect(await endingOf(server, limiter, '/status/200')).toBe('release');
    expect(await endingOf(server, limiter, '/status/503')).toBe('drop');
    expect(await endingOf(server, limiter, '/status/504')).toBe('drop');
    expect(await endingOf(server, limiter, '/unavailable')).toBe('drop');
    expect(await endingOf(server, limiter, '/timeout')).toBe('drop');
    expect(await endingOf(server, limiter, '/status/429')).toBe('release');
    expect(await endingOf(server, limiter, '/boom')).toBe('release');
    expect(limiter.inUse).toBe(0);
  });

  it('classify overrides, seeing the status, the error and whether the client left', async () => {
    const limiter = new AdaptiveLimiter(2);
    const outcomes: RequestOutcome[] = [];
    const classify = (outcome: RequestOutcome) => {
      outcomes.push(outcome);
      return outcome.status === 429 ? 'drop' : outcome.error !== undefined ? 'ignore' : 'success';
    };
    const { app: server } = app(limiter, { classify });
    expect(await endingOf(server, limiter, '/status/429')).toBe('drop');
    expect(await endingOf(server, limiter, '/timeout')).toBe('ignore');
    expect(await endingOf(server, limiter, '/status/503')).toBe('release');
    expect(outcomes).toEqual([
      { status: 429, error: undefined, clientLeft: false },
      { status: 500, error: expect.any(TimeoutError), clientLeft: false },
      { status: 503, error: undefined, clientLeft: false },
    ]);
  });
});

describe('concurrency() with an adaptive limit: a client that leaves', () => {
  it('on @hono/node-server, before the response is finished -> ignore', async () => {
    const limiter = new AdaptiveLimiter(2);
    const { app: server, gate, left } = app(limiter);
    served = await serveApp(server);
    const client = new AbortController();
    const request = fetch(`${served.url}/hold`, { signal: client.signal });
    await vi.waitFor(() => expect(limiter.inUse).toBe(1));
    client.abort();
    await expect(request).rejects.toThrow();
    await left.promise; // the server saw the client go
    gate.resolve(); // the handler ends; its answer reaches nobody
    await vi.waitFor(() => expect(limiter.endings).toEqual(['ignore']));
    expect(limiter.inUse).toBe(0);
  });

  it('through a body stream the reader cancels -> ignore', async () => {
    const limiter = new AdaptiveLimiter(2);
    const { app: server } = app(limiter);
    const response = await server.request('/stream');
    await response.body!.cancel();
    await vi.waitFor(() => expect(limiter.endings).toEqual(['ignore']));
  });
});
