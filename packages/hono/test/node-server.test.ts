// Against a real @hono/node-server on a loopback port: disconnects and streaming need sockets.
import { Semaphore } from '@sluice/core';
import { PROBLEM_CONTENT_TYPE } from '@sluice/core/http';
import { type Context, Hono } from 'hono';
import { stream, streamSSE } from 'hono/streaming';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concurrency } from '../src/index.js';
import {
  countingLimiter,
  type Deferred,
  deferred,
  firstChunk,
  type Served,
  serveApp,
  sleep,
} from './helpers.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe('on @hono/node-server', () => {
  it('a burst of 10 (limit 2, maxWaiting 3, timeout 300): 2 ok, 5 full, 3 timed out', async () => {
    const sem = new Semaphore(2, { maxWaiting: 3 });
    let inFlight = 0;
    let highest = 0;
    let refused = 0;
    // The two holders finish only once all 8 others were answered, so how fast a loaded machine
    // sends the burst cannot let a third request in.
    const allRefused = deferred();
    const app = new Hono();
    app.get('/slow', concurrency({ limit: sem, timeout: 300 }), async (c) => {
      highest = Math.max(highest, ++inFlight);
      await allRefused.promise;
      inFlight--;
      return c.text('done');
    });
    served = await serveApp(app);
    const results = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const r = await fetch(`${served!.url}/slow`);
        const text = await r.text();
        if (r.status === 200) return 'ok';
        if (++refused === 8) allRefused.resolve();
        expect(r.status).toBe(503);
        expect(r.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        return JSON.parse(text).reason as string;
      }),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(2);
    expect(results.filter((r) => r === 'queue_full')).toHaveLength(5);
    expect(results.filter((r) => r === 'queue_timeout')).toHaveLength(3);
    expect(highest).toBe(2);
    await vi.waitFor(() =>
      expect(sem.stats()).toMatchObject({ inUse: 0, waiting: 0, maxInUse: 2 }),
    );
  });

  /** A body that sends 'first', then 'last' once `finish` resolves, made the `kind` way. */
  function liveBody(kind: 'stream' | 'streamSSE' | 'ReadableStream', c: Context, finish: Deferred) {
    if (kind === 'stream') {
      return stream(c, async (s) => {
        await s.write('first');
        await finish.promise;
        await s.write('last');
      });
    }
    if (kind === 'streamSSE') {
      return streamSSE(c, async (s) => {
        await s.writeSSE({ data: 'first' });
        await finish.promise;
        await s.writeSSE({ data: 'last' });
      });
    }
    const encoder = new TextEncoder();
    let sent = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent++ === 0) {
            controller.enqueue(encoder.encode('first'));
            return;
          }
          await finish.promise;
          controller.enqueue(encoder.encode('last'));
          controller.close();
        },
      }),
    );
  }

  for (const kind of ['stream', 'streamSSE', 'ReadableStream'] as const) {
    it(`${kind} body: holds the permit until the body ends`, async () => {
      const sem = new Semaphore(1, { maxWaiting: 0 });
      const finish = deferred();
      const app = new Hono();
      const limit = concurrency({ limit: sem });
      app.get('/live', limit, (c) => liveBody(kind, c, finish));
      app.get('/other', limit, (c) => c.text('other'));
      served = await serveApp(app);

      const live = await fetch(`${served.url}/live`);
      const reader = live.body!.getReader();
      expect(await firstChunk(reader)).toContain('first');
      const during = await fetch(`${served.url}/other`);
      expect(during.status).toBe(503);
      expect((await during.json()).reason).toBe('queue_full');

      finish.resolve();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        rest += new TextDecoder().decode(chunk.value);
      }
      expect(rest).toContain('last');
      // The server releases on the response's 'close', a moment after the last byte left.
      await vi.waitFor(() => expect(sem.inUse).toBe(0));
      const after = await fetch(`${served.url}/other`);
      expect(after.status).toBe(200);
      expect(await after.text()).toBe('other');
    });
  }

  it('a text body: released once, when the response has been sent', async () => {
    const counting = countingLimiter(new Semaphore(1, { maxWaiting: 0 }));
    const app = new Hono();
    app.get('/plain', concurrency({ limit: counting }), (c) => c.text('hello'));
    served = await serveApp(app);
    for (let i = 1; i <= 3; i++) {
      const response = await fetch(`${served.url}/plain`);
      expect(await response.text()).toBe('hello');
      await vi.waitFor(() => expect(counting.releaseCalls).toBe(i));
    }
    await sleep(20);
    expect(counting.releaseCalls).toBe(3);
  });

  it('a client that leaves mid-stream: released once though the signal, the cancel and the handler end all fire', async () => {
    const counting = countingLimiter(new Semaphore(1));
    const signalAborted = deferred();
    const handlerEnded = deferred();
    const app = new Hono();
    app.get('/live', concurrency({ limit: counting }), (c) => {
      c.var.sluice.signal.addEventListener('abort', () => signalAborted.resolve());
      return stream(c, async (s) => {
        let cancelled = false;
        s.onAbort(() => {
          cancelled = true;
        });
        await s.write('first');
        while (!cancelled) await sleep(10);
        handlerEnded.resolve();
      });
    });
    served = await serveApp(app);
    const client = new AbortController();
    const live = await fetch(`${served.url}/live`, { signal: client.signal });
    const reader = live.body!.getReader();
    expect(await firstChunk(reader)).toBe('first');
    expect(counting.releaseCalls).toBe(0);
    client.abort();
    await signalAborted.promise;
    await handlerEnded.promise;
    await sleep(50);
    expect(counting.releaseCalls).toBe(1);
  });

  it('a client that disconnects while queued leaves the queue at once; its handler never runs', async () => {
    const sem = new Semaphore(1);
    const hold = deferred();
    const ran: string[] = [];
    const app = new Hono();
    app.get('/work', concurrency({ limit: sem, timeout: 60_000 }), async (c) => {
      const who = c.req.query('who')!;
      ran.push(who);
      if (who === 'first') await hold.promise;
      return c.text(who);
    });
    served = await serveApp(app);
    const first = fetch(`${served.url}/work?who=first`).then((r) => r.text());
    await vi.waitFor(() => expect(sem.inUse).toBe(1));
    const client = new AbortController();
    const second = fetch(`${served.url}/work?who=second`, { signal: client.signal });
    await vi.waitFor(() => expect(sem.waiting).toBe(1));
    client.abort();
    await expect(second).rejects.toThrow();
    await vi.waitFor(() => expect(sem.waiting).toBe(0), { timeout: 1000 });
    expect(sem.stats().aborted).toBe(1);
    expect(sem.inUse).toBe(1); // the first still holds it
    hold.resolve();
    expect(await first).toBe('first');
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
    expect(ran).toEqual(['first']);
    expect(sem.stats().acquired).toBe(1);
  });

  it('a client that disconnects in flight aborts c.var.sluice.signal; the permit returns once the handler is done', async () => {
    const sem = new Semaphore(1);
    const aborted = deferred();
    const finish = deferred();
    const app = new Hono();
    app.get('/work', concurrency({ limit: sem }), async (c) => {
      c.var.sluice.signal.addEventListener('abort', () => aborted.resolve());
      await finish.promise;
      return c.text('too late');
    });
    served = await serveApp(app);
    const client = new AbortController();
    const request = fetch(`${served.url}/work`, { signal: client.signal });
    await vi.waitFor(() => expect(sem.inUse).toBe(1));
    client.abort();
    await expect(request).rejects.toThrow();
    await aborted.promise;
    // The handler still runs: its work is what the limit protects.
    expect(sem.inUse).toBe(1);
    finish.resolve();
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
  });

  it('a handler that throws: onError answers and the permit returns', async () => {
    const sem = new Semaphore(1);
    const app = new Hono();
    app.onError((error, c) => c.json({ error: error.message }, 500));
    app.get('/boom', concurrency({ limit: sem }), () => {
      throw new Error('kaput');
    });
    served = await serveApp(app);
    const response = await fetch(`${served.url}/boom`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'kaput' });
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
    expect(sem.stats().acquired).toBe(1);
  });

  it('HEAD of a streamed route releases', async () => {
    const sem = new Semaphore(1);
    const app = new Hono();
    app.get('/live', concurrency({ limit: sem }), (c) =>
      stream(c, async (s) => {
        await s.write('x');
      }),
    );
    served = await serveApp(app);
    const response = await fetch(`${served.url}/live`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
  });
});
