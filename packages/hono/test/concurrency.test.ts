// In-process tests with `app.request()`: no socket, so the middleware takes its web-standard
// path (a body in memory settles when the handler returns; any other body is piped through a
// stream that reports its end).
import { KeyedSemaphore, Semaphore } from '@sluice/core';
import { PROBLEM_CONTENT_TYPE } from '@sluice/core/http';
import { AdaptiveLimiter } from '@sluice/test-limiters';
import { type Context, Hono } from 'hono';
import { stream, streamSSE } from 'hono/streaming';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concurrency, type SluiceRequestState } from '../src/index.js';
import { countingLimiter, deferred, firstChunk, SEES_BODY_SOURCE } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});

function expectProblemHeaders(response: Response, status: number): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
}

async function expectProblem(response: Response, status: number, reason: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  const body = await response.json();
  expect(body).toMatchObject({ status, reason, retryAfter });
  expect(typeof body.type).toBe('string');
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
}

describe('a burst of 10 at a 200 ms route, limit 2, maxWaiting 3', () => {
  async function burst(limit: number | Semaphore, timeout: number) {
    vi.useFakeTimers();
    const app = new Hono();
    let inFlight = 0;
    let highest = 0;
    const started: number[] = [];
    app.get(
      '/slow',
      concurrency({ limit, ...(typeof limit === 'number' ? { maxWaiting: 3 } : {}), timeout }),
      async (c) => {
        started.push(Number(c.req.query('i')));
        highest = Math.max(highest, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 200));
        inFlight--;
        return c.text('done');
      },
    );
    // Like a real client, each reads its body as soon as the response arrives: the permit is
    // held until the body is over.
    const pending = Array.from({ length: 10 }, (_, i) =>
      Promise.resolve(app.request(`/slow?i=${i}`)).then(async (r) => {
        const text = await r.text();
        return { response: r, reason: r.status === 200 ? 'ok' : JSON.parse(text).reason };
      }),
    );
    await vi.advanceTimersByTimeAsync(1000);
    const results = await Promise.all(pending);
    const responses = results.map((r) => r.response);
    const reasons: string[] = results.map((r) => r.reason);
    return { responses, reasons, started, highest };
  }

  function count(reasons: string[]) {
    return reasons.reduce<Record<string, number>>((acc, r) => {
      acc[r] = (acc[r] ?? 0) + 1;
      return acc;
    }, {});
  }

  it('timeout 100 ms: 2 x 200, 5 x 503 queue_full, 3 x 503 queue_timeout', async () => {
    const sem = new Semaphore(2, { maxWaiting: 3 });
    for (const limit of [2, sem]) {
      const { responses, reasons, started, highest } = await burst(limit, 100);
      expect(count(reasons)).toEqual({ ok: 2, queue_full: 5, queue_timeout: 3 });
      expect(started).toEqual([0, 1]);
      expect(highest).toBe(2);
      for (const [i, r] of responses.entries()) {
        if (reasons[i] !== 'ok') expectProblemHeaders(r, 503);
      }
      vi.useRealTimers();
    }
    expect(sem.stats()).toMatchObject({
      inUse: 0,
      waiting: 0,
      available: 2,
      maxInUse: 2,
      timedOut: 3,
      rejected: 5,
    });
  });

  it('timeout 300 ms: 4 x 200 in FIFO order, 1 x 503 queue_timeout, 5 x 503 queue_full', async () => {
    const sem = new Semaphore(2, { maxWaiting: 3 });
    for (const limit of [2, sem]) {
      const { responses, reasons, started, highest } = await burst(limit, 300);
      expect(count(reasons)).toEqual({ ok: 4, queue_full: 5, queue_timeout: 1 });
      expect(reasons.slice(0, 5)).toEqual(['ok', 'ok', 'ok', 'ok', 'queue_timeout']);
      expect(started).toEqual([0, 1, 2, 3]);
      expect(highest).toBe(2);
      for (const [i, r] of responses.entries()) {
        if (reasons[i] !== 'ok') expectProblemHeaders(r, 503);
      }
      vi.useRealTimers();
    }
    expect(sem.stats()).toMatchObject({
      inUse: 0,
      waiting: 0,
      available: 2,
      maxInUse: 2,
      acquired: 4,
    });
  });
});

describe('release', () => {
  it('releases when the handler throws and Hono answers through onError', async () => {
    const sem = new Semaphore(1);
    const app = new Hono();
    let seenError: unknown;
    app.onError((error, c) => c.text(`handled: ${error.message}`, 500));
    app.use('/boom', async (c, next) => {
      await next();
      seenError = c.error;
    });
    app.get('/boom', concurrency({ limit: sem }), () => {
      throw new Error('kaput');
    });
    const response = await app.request('/boom');
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('handled: kaput');
    expect((seenError as Error).message).toBe('kaput');
    expect(sem.stats()).toMatchObject({ inUse: 0, acquired: 1 });
  });

  it('releases when next() itself rejects (a non-Error thrown, which onError does not take)', async () => {
    const sem = new Semaphore(1);
    const app = new Hono();
    app.get('/boom', concurrency({ limit: sem }), () => {
      throw 'not an Error';
    });
    await expect(app.request('/boom')).rejects.toBe('not an Error');
    expect(sem.inUse).toBe(0);
  });

  it('releases at once for a response without a body, and for HEAD', async () => {
    const sem = new Semaphore(1);
    const app = new Hono();
    app.get('/empty', concurrency({ limit: sem }), (c) => c.body(null, 204));
    app.get('/stream', concurrency({ limit: sem }), (c) =>
      stream(c, async (s) => {
        await s.write('never read');
      }),
    );
    expect((await app.request('/empty')).status).toBe(204);
    expect(sem.inUse).toBe(0);
    const head = await app.request('/stream', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(sem.inUse).toBe(0);
  });
});

describe('streamed responses hold the permit until the body ends', () => {
  for (const kind of ['stream', 'streamSSE'] as const) {
    it(`${kind}(): a request during the stream is shed, one after it is admitted`, async () => {
      const sem = new Semaphore(1, { maxWaiting: 0 });
      const finish = deferred();
      const app = new Hono();
      app.get('/live', concurrency({ limit: sem }), (c) =>
        kind === 'stream'
          ? stream(c, async (s) => {
              await s.write('first');
              await finish.promise;
              await s.write('last');
            })
          : streamSSE(c, async (s) => {
              await s.writeSSE({ data: 'first' });
              await finish.promise;
              await s.writeSSE({ data: 'last' });
            }),
      );
      app.get('/other', concurrency({ limit: sem }), (c) => c.text('other'));

      const live = await app.request('/live');
      expect(live.status).toBe(200);
      const reader = live.body!.getReader();
      expect(await firstChunk(reader)).toContain('first');
      // `next()` has long returned; the body is still going.
      expect(sem.inUse).toBe(1);
      await expectProblem(await app.request('/other'), 503, 'queue_full');

      finish.resolve();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += new TextDecoder().decode(chunk.value);
      }
      expect(rest).toContain('last');
      expect(sem.inUse).toBe(0);
      const after = await app.request('/other');
      expect(after.status).toBe(200);
      expect(await after.text()).toBe('other');
    });
  }

  it('a cancelled body releases, once, even when the signal and the handler end also fire', async () => {
    const counting = countingLimiter(new Semaphore(1));
    const handlerEnded = deferred();
    const app = new Hono();
    app.get('/live', concurrency({ limit: counting }), (c) =>
      stream(c, async (s) => {
        s.onAbort(() => handlerEnded.resolve());
        await s.write('first');
        await handlerEnded.promise;
      }),
    );
    const client = new AbortController();
    const response = await app.request('/live', { signal: client.signal });
    const reader = response.body!.getReader();
    expect(await firstChunk(reader)).toBe('first');
    expect(counting.releaseCalls).toBe(0);
    client.abort();
    await reader.cancel('client left');
    await handlerEnded.promise;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(counting.releaseCalls).toBe(1);
  });

  it('a body already being read elsewhere releases at once rather than never', async () => {
    const sem = new Semaphore(1);
    const app = new Hono();
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    app.get('/locked', concurrency({ limit: sem }), (c) => {
      const response = c.body('x');
      // Someone (a tee, a logger) already holds a reader on the body.
      reader = response.body!.getReader();
      return response;
    });
    const response = await app.request('/locked');
    expect(response.status).toBe(200);
    expect(reader).toBeDefined();
    expect(sem.inUse).toBe(0);
  });

  it('keeps status and headers of the wrapped response', async () => {
    const app = new Hono();
    app.get('/live', concurrency({ limit: 1 }), (c) => {
      c.header('x-kept', 'yes');
      c.status(201);
      return stream(c, async (s) => {
        await s.write('x');
      });
    });
    const response = await app.request('/live');
    expect(response.status).toBe(201);
    expect(response.headers.get('x-kept')).toBe('yes');
    expect(await response.text()).toBe('x');
  });
});

describe('a body already in memory releases when the handler returns', () => {
  // Where the runtime cannot tell (undici 7, Bun, Deno) it is watched like a stream instead.
  const heldUntilRead = SEES_BODY_SOURCE ? 0 : 1;
  const bytes = new TextEncoder().encode('hello');
  const routes: [string, (c: Context) => Response | Promise<Response>][] = [
    ['c.text()', (c) => c.text('hello')],
    ['c.text() with a status and a header', (c) => c.text('hello', 201, { 'x-kept': 'yes' })],
    ['c.json()', (c) => c.json('hello')],
    ['c.html()', (c) => c.html('hello')],
    ['c.body() with a Uint8Array', (c) => c.body(bytes)],
    ['c.body() with an ArrayBuffer', (c) => c.body(bytes.slice().buffer)],
    ['new Response() with a string', () => new Response('hello')],
  ];
  for (const [label, handler] of routes) {
    it(`${label}: released before the body is read, and released once`, async () => {
      const counting = countingLimiter(new Semaphore(1, { maxWaiting: 0 }));
      const app = new Hono();
      app.get('/plain', concurrency({ limit: counting }), handler);
      const first = await app.request('/plain');
      expect(counting.releaseCalls).toBe(1 - heldUntilRead);
      // With the permit back, a second request is admitted while the first body is unread.
      const second = await app.request('/plain');
      expect(second.status).toBe(SEES_BODY_SOURCE ? first.status : 503);
      expect(await first.text()).toContain('hello');
      await second.text();
      expect(counting.releaseCalls).toBe(SEES_BODY_SOURCE ? 2 : 1);
    });
  }

  it('an adaptive limit learns from such a response when the handler returns', async () => {
    const limiter = new AdaptiveLimiter(2);
    const gate = deferred();
    const app = new Hono();
    app.use(concurrency({ limit: limiter }));
    app.get('/status/:code', (c) => c.text('answer', Number(c.req.param('code')) as 200));
    app.get('/hold', async (c) => {
      await gate.promise;
      return c.text('late');
    });
    const unread = [await app.request('/status/200'), await app.request('/status/503')];
    const client = new AbortController();
    const held = app.request('/hold', { signal: client.signal });
    await vi.waitFor(() => expect(limiter.inUse).toBe(1));
    client.abort();
    gate.resolve();
    await held;
    // Settled without a byte read: the status, and whether the client had left, tell.
    expect(limiter.endings).toEqual(
      // Where the runtime cannot tell, the unread bodies are still being watched.
      SEES_BODY_SOURCE ? ['release', 'drop', 'ignore'] : ['ignore'],
    );
    for (const response of unread) await response.body?.cancel();
  });

  it('headers: true keeps its RateLimit headers on such a response', async () => {
    const sem = new Semaphore(2);
    const app = new Hono();
    app.get('/plain', concurrency({ limit: sem, headers: true }), (c) => c.text('hello'));
    const response = await app.request('/plain');
    expect(sem.inUse).toBe(heldUntilRead);
    expect(response.headers.get('ratelimit')).toContain('"concurrency"');
    expect(await response.text()).toBe('hello');
    expect(sem.inUse).toBe(0);
  });
});

describe('any other body holds the permit until it is read', () => {
  const routes: [string, (c: Context) => Response][] = [
    [
      'a ReadableStream of its own',
      () =>
        new Response(
          new ReadableStream<string>({
            start(controller) {
              controller.enqueue('hello');
              controller.close();
            },
          }).pipeThrough(new TextEncoderStream()),
        ),
    ],
    ['a Blob', () => new Response(new Blob(['hello']))],
    [
      "a response rebuilt from another's body",
      (c) => {
        const made = c.text('hello');
        return new Response(made.body, made);
      },
    ],
  ];
  for (const [label, handler] of routes) {
    it(`${label}: a request before the body is read is shed, one after it is admitted`, async () => {
      const counting = countingLimiter(new Semaphore(1, { maxWaiting: 0 }));
      const app = new Hono();
      app.get('/body', concurrency({ limit: counting }), handler);
      const first = await app.request('/body');
      expect(first.status).toBe(200);
      expect(counting.releaseCalls).toBe(0);
      await expectProblem(await app.request('/body'), 503, 'queue_full');
      expect(await first.text()).toBe('hello');
      expect(counting.releaseCalls).toBe(1);
      const after = await app.request('/body');
      expect(await after.text()).toBe('hello');
      expect(counting.releaseCalls).toBe(2);
    });
  }
});

describe('queued clients', () => {
  it('a client that disconnects while queued leaves at once and its handler never runs', async () => {
    const sem = new Semaphore(1);
    const hold = deferred();
    const ran: string[] = [];
    const app = new Hono();
    app.get('/work', concurrency({ limit: sem, timeout: 60_000 }), async (c) => {
      ran.push(c.req.query('who')!);
      if (c.req.query('who') === 'first') await hold.promise;
      return c.text('ok');
    });
    const first = app.request('/work?who=first');
    const client = new AbortController();
    const second = app.request('/work?who=second', { signal: client.signal });
    await vi.waitFor(() => expect(sem.waiting).toBe(1));
    client.abort();
    await vi.waitFor(() => expect(sem.waiting).toBe(0));
    expect(sem.stats().aborted).toBe(1);
    const gone = await second;
    expect(gone.status).toBe(499);
    hold.resolve();
    const done = await first;
    expect(done.status).toBe(200);
    // A text body is all there when the handler returns: the permit is back already.
    expect(sem.inUse).toBe(0);
    expect(await done.text()).toBe('ok');
    expect(ran).toEqual(['first']);
  });

  it('exposes waitedMs and the client signal at c.var.sluice', async () => {
    vi.useFakeTimers();
    const app = new Hono();
    const seen: SluiceRequestState[] = [];
    app.get('/work', concurrency({ limit: 1 }), async (c) => {
      seen.push(c.var.sluice);
      await new Promise((resolve) => setTimeout(resolve, 50));
      return c.text('ok');
    });
    const a = Promise.resolve(app.request('/work')).then((r) => r.text());
    const b = Promise.resolve(app.request('/work')).then((r) => r.text());
    await vi.advanceTimersByTimeAsync(200);
    expect(await Promise.all([a, b])).toEqual(['ok', 'ok']);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.waitedMs).toBe(0);
    expect(seen[1]!.waitedMs).toBeGreaterThanOrEqual(50);
    expect(seen[1]!.signal).toBeInstanceOf(AbortSignal);
    expect(seen[1]!.signal.aborted).toBe(false);
  });
});

describe('options', () => {
  it('key(c): a per-client limit answers 429 to the saturated client and 200 to another', async () => {
    const hold = deferred();
    const app = new Hono();
    app.get(
      '/work',
      concurrency({ limit: 1, maxWaiting: 0, key: (c) => c.req.header('x-user') ?? 'anon' }),
      async (c) => {
        if (c.req.query('hold')) await hold.promise;
        return c.text('ok');
      },
    );
    const busy = app.request('/work?hold=1', { headers: { 'x-user': 'alice' } });
    await expectProblem(
      await app.request('/work', { headers: { 'x-user': 'alice' } }),
      429,
      'queue_full',
    );
    expect((await app.request('/work', { headers: { 'x-user': 'bob' } })).status).toBe(200);
    hold.resolve();
    expect((await busy).status).toBe(200);
  });

  it('key(c): 10,000 distinct keys leave no entry behind', async () => {
    const perUser = new KeyedSemaphore<string>(1, { maxWaiting: 0 });
    const app = new Hono();
    app.get('/work', concurrency({ limit: perUser, key: (c) => c.req.query('u')! }), (c) =>
      c.text('ok'),
    );
    for (let batch = 0; batch < 10; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => app.request(`/work?u=${batch * 1000 + i}`)),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
      await Promise.all(responses.map((r) => r.text()));
    }
    expect(perUser.size).toBe(0);
  });

  it('an async key: a client that left meanwhile is admitted if there is room, its signal aborted', async () => {
    const sem = new KeyedSemaphore<string>(1);
    const app = new Hono();
    const client = new AbortController();
    const seen: boolean[] = [];
    app.get(
      '/work',
      concurrency({
        limit: sem,
        key: async () => {
          client.abort();
          return 'k';
        },
      }),
      (c) => {
        seen.push(c.var.sluice.signal.aborted);
        return c.text('ok');
      },
    );
    const response = await app.request('/work', { signal: client.signal });
    expect(response.status).toBe(200);
    expect(seen).toEqual([true]);
    // The client is gone, so the body is never read: the permit goes back anyway.
    expect(sem.size).toBe(0);
  });

  it('an async key: a client that left meanwhile and must queue is never admitted', async () => {
    const sem = new KeyedSemaphore<string>(1);
    const hold = deferred();
    const app = new Hono();
    let ran = 0;
    app.get(
      '/work',
      concurrency({
        limit: sem,
        key: async (c) => {
          if (c.req.query('leave')) client.abort();
          return 'k';
        },
      }),
      async (c) => {
        ran++;
        await hold.promise;
        return c.text('ok');
      },
    );
    const client = new AbortController();
    const first = Promise.resolve(app.request('/work')).then((r) => r.text());
    await vi.waitFor(() => expect(ran).toBe(1));
    const gone = await app.request('/work?leave=1', { signal: client.signal });
    expect(gone.status).toBe(499);
    hold.resolve();
    expect(await first).toBe('ok');
    expect(ran).toBe(1);
    expect(sem.size).toBe(0);
  });

  it('onRejected writes the refusal', async () => {
    const app = new Hono();
    const hold = deferred();
    const mw = concurrency({
      limit: 1,
      maxWaiting: 0,
      retryAfter: 7,
      onRejected: (c, rejection) =>
        c.json({ mine: true, reason: rejection.reason, retryAfter: rejection.retryAfter }, 418),
    });
    app.get('/work', mw, async (c) => {
      await hold.promise;
      return c.text('ok');
    });
    const busy = app.request('/work');
    const refused = await app.request('/work');
    expect(refused.status).toBe(418);
    expect(await refused.json()).toEqual({ mine: true, reason: 'queue_full', retryAfter: 7 });
    hold.resolve();
    await busy;
  });

  it('skip(c) passes the request through untouched', async () => {
    const sem = new Semaphore(1, { maxWaiting: 0 });
    const hold = deferred();
    const app = new Hono();
    app.get(
      '/work',
      concurrency({ limit: sem, skip: async (c) => c.req.header('x-admin') === '1' }),
      async (c) => {
        if (c.req.query('hold')) await hold.promise;
        return c.text('ok');
      },
    );
    const busy = app.request('/work?hold=1');
    expect((await app.request('/work')).status).toBe(503);
    const skipped = await app.request('/work', { headers: { 'x-admin': '1' } });
    expect(skipped.status).toBe(200);
    expect(sem.stats().acquired).toBe(1);
    hold.resolve();
    await busy;
  });

  it('a shared Semaphore limits several routes together', async () => {
    const sem = new Semaphore(1, { maxWaiting: 0 });
    const hold = deferred();
    const app = new Hono();
    app.get('/a', concurrency({ limit: sem }), async (c) => {
      await hold.promise;
      return c.text('a');
    });
    app.get('/b', concurrency({ limit: sem }), (c) => c.text('b'));
    const a = app.request('/a');
    await expectProblem(await app.request('/b'), 503, 'queue_full');
    hold.resolve();
    expect(await (await a).text()).toBe('a');
    expect(await (await app.request('/b')).text()).toBe('b');
  });

  it('weight(c) takes several permits', async () => {
    const sem = new Semaphore(3, { maxWaiting: 0 });
    const hold = deferred();
    const app = new Hono();
    app.get(
      '/work',
      concurrency({ limit: sem, weight: (c) => Number(c.req.query('w') ?? 1) }),
      async (c) => {
        await hold.promise;
        return c.text('ok');
      },
    );
    const heavy = Promise.resolve(app.request('/work?w=2')).then((r) => r.text());
    const light = Promise.resolve(app.request('/work?w=1')).then((r) => r.text());
    await vi.waitFor(() => expect(sem.inUse).toBe(3));
    await expectProblem(await app.request('/work?w=1'), 503, 'queue_full');
    hold.resolve();
    await Promise.all([heavy, light]);
    expect(sem.inUse).toBe(0);
  });

  it('headers: true sends RateLimit headers for a concurrency policy', async () => {
    const sem = new Semaphore(2, { maxWaiting: 0 });
    const hold = deferred();
    const app = new Hono();
    app.get('/work', concurrency({ limit: sem, headers: true, name: 'work' }), async (c) => {
      if (c.req.query('hold')) await hold.promise;
      return c.text('ok');
    });
    const busy = [app.request('/work?hold=1'), app.request('/work?hold=1')];
    await vi.waitFor(() => expect(sem.inUse).toBe(2));
    const refused = await app.request('/work');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('ratelimit-policy')).toBe('"work";q=2;qu="concurrent-requests"');
    expect(refused.headers.get('ratelimit')).toBe('"work";r=0;t=1');
    hold.resolve();
    const admitted = await busy[1]!;
    expect(admitted.headers.get('ratelimit-policy')).toBe('"work";q=2;qu="concurrent-requests"');
    expect(admitted.headers.get('ratelimit')).toBe('"work";r=0;t=1');
    await busy[0];
  });

  it("headers: true with a per-client key reports that client's own limit", async () => {
    const hold = deferred();
    const app = new Hono();
    app.get(
      '/work',
      concurrency({ limit: 2, maxWaiting: 0, key: (c) => c.req.query('u')!, headers: true }),
      async (c) => {
        if (c.req.query('hold')) await hold.promise;
        return c.text('ok');
      },
    );
    const busy = Promise.resolve(app.request('/work?u=a&hold=1')).then((r) => r.text());
    const other = await app.request('/work?u=b');
    expect(other.headers.get('ratelimit')).toBe('"concurrency";r=1;t=0');
    await other.text();
    const same = await app.request('/work?u=a');
    expect(same.headers.get('ratelimit')).toBe('"concurrency";r=0;t=1');
    expect(await same.text()).toBe('ok');
    hold.resolve();
    await busy;
  });

  it('a weight above the limit is a bug answered by onError, not a refusal', async () => {
    const sem = new Semaphore(2);
    const app = new Hono();
    app.onError((error, c) => c.text(error.name, 500));
    app.get('/work', concurrency({ limit: sem, weight: () => 3 }), (c) => c.text('ok'));
    const response = await app.request('/work');
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('RangeError');
    expect(sem.inUse).toBe(0);
  });

  it('a closed Semaphore answers 503 closed', async () => {
    const sem = new Semaphore(1);
    sem.close();
    const app = new Hono();
    app.get('/work', concurrency({ limit: sem }), (c) => c.text('ok'));
    await expectProblem(await app.request('/work'), 503, 'closed');
  });

  it('adds a typed c.var.sluice', () => {
    const app = new Hono();
    app.get('/typed', concurrency({ limit: 1 }), (c) => {
      const admission: SluiceRequestState = c.var.sluice;
      const waited: number = c.get('sluice').waitedMs;
      return c.json({ waited, aborted: admission.signal.aborted });
    });
    expect(app.routes).toHaveLength(2);
  });
});
