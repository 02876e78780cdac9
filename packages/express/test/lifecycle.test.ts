import http from 'node:http';
import { KeyedSemaphore, Semaphore } from '@sluice/core';
import type { NextFunction, Request, Response } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concurrency } from '../src/index.js';
import {
  counting,
  deferred,
  frameworks,
  listen,
  openRequest,
  type Running,
  request,
  sleep,
} from './helpers.js';

describe.each(frameworks)('concurrency() request lifecycle on %s', (_label, express) => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('a client that disconnects while queued leaves the queue within one tick; nothing runs or is written', async () => {
    const sem = new Semaphore(1);
    const gate = deferred();
    const ran: string[] = [];
    const atClose: { waiting: number; headersSent: boolean }[] = [];
    const app = express();
    app.get(
      '/',
      (_req, res, next) => {
        // Registered before the limiter's own listener: by the next macrotask it must be done.
        res.once('close', () => {
          const headersSent = res.headersSent;
          setImmediate(() => atClose.push({ waiting: sem.waiting, headersSent }));
        });
        next();
      },
      concurrency({ limit: sem }),
      async (req, res) => {
        ran.push(String(req.query.id));
        if (req.query.id === 'holder') await gate.promise;
        res.send('ok');
      },
    );
    running = await listen(app);
    const holder = request(running.port, '/?id=holder');
    await vi.waitFor(() => expect(sem.inUse).toBe(1));
    const queued = openRequest(running.port, '/?id=queued');
    await vi.waitFor(() => expect(sem.waiting).toBe(1));
    queued.req.destroy();
    await vi.waitFor(() => expect(atClose).toHaveLength(1));
    expect(atClose[0]).toEqual({ waiting: 0, headersSent: false });
    expect(sem.stats()).toMatchObject({ waiting: 0, inUse: 1, aborted: 1 });
    gate.resolve();
    expect((await holder).status).toBe(200);
    expect((await request(running.port, '/?id=after')).status).toBe(200);
    expect(ran).toEqual(['holder', 'after']);
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
  });

  it('a client that leaves while an async key is worked out takes no permit and runs nothing', async () => {
    const keyed = new KeyedSemaphore<string>(1);
    const keyAsked = deferred();
    const keyGate = deferred<string>();
    const ran: string[] = [];
    const app = express();
    app.get(
      '/',
      concurrency({
        limit: keyed,
        key: () => {
          keyAsked.resolve();
          return keyGate.promise;
        },
      }),
      (_req, res) => {
        ran.push('handler');
        res.send('ok');
      },
    );
    running = await listen(app);
    const open = openRequest(running.port, '/');
    await keyAsked.promise;
    open.req.destroy();
    await sleep(50);
    keyGate.resolve('a');
    await sleep(20);
    expect(ran).toEqual([]);
    expect(keyed.size).toBe(0);
  });

  it('a client that disconnects in flight releases exactly once and aborts req.sluice.signal', async () => {
    const limiter = counting(new Semaphore(1));
    const aborted = deferred<unknown>();
    const app = express();
    app.get('/', concurrency({ limit: limiter }), (req, res) => {
      const { signal } = req.sluice!;
      signal.addEventListener('abort', () => aborted.resolve(signal.reason));
      res.write('started');
    });
    running = await listen(app);
    const open = openRequest(running.port, '/');
    const response = await open.response;
    await new Promise((resolve) => response.once('data', resolve));
    expect(limiter.held).toBe(1);
    open.req.destroy();
    const reason = await aborted.promise;
    expect(reason).toBeInstanceOf(Error);
    await vi.waitFor(() => expect(limiter.releaseCalls).toBe(1));
    await sleep(30);
    expect(limiter.acquired).toBe(1);
    expect(limiter.releaseCalls).toBe(1);
  });

  it('a POST whose JSON body express.json() read before the limiter is not taken for an abort', async () => {
    const limiter = counting(new Semaphore(1));
    const app = express();
    app.post('/', express.json(), concurrency({ limit: limiter }), async (req, res) => {
      await sleep(50); // req 'close' has fired by now: the body was read
      res.json({ echo: req.body, aborted: req.sluice!.signal.aborted });
    });
    running = await listen(app);
    const reply = await request(running.port, '/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ echo: { hello: 'world' }, aborted: false });
    await vi.waitFor(() => expect(limiter.releaseCalls).toBe(1));
    expect(limiter.acquired).toBe(1);
  });

  it('a chunked response holds its permit until the last chunk', async () => {
    const sem = new Semaphore(1);
    const app = express();
    app.get('/', concurrency({ limit: sem }), async (_req, res) => {
      for (let i = 0; i < 4; i++) {
        res.write(`chunk ${i}\n`);
        await sleep(30);
      }
      res.end('end\n');
    });
    running = await listen(app);
    const open = openRequest(running.port, '/');
    const response = await open.response;
    expect(response.headers['transfer-encoding']).toBe('chunked');
    const heldWhileStreaming: number[] = [];
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      body += chunk;
      if (!chunk.includes('end')) heldWhileStreaming.push(sem.inUse);
    });
    await new Promise((resolve) => response.on('end', resolve));
    expect(body).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\nend\n');
    expect(heldWhileStreaming.length).toBeGreaterThan(0);
    expect(heldWhileStreaming.every((n) => n === 1)).toBe(true);
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
  });

  it('server-sent events hold the permit; a client that cancels the stream frees it', async () => {
    const sem = new Semaphore(1, { maxWaiting: 0 });
    const stopped = deferred<boolean>();
    const app = express();
    app.get('/events', concurrency({ limit: sem }), (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      let n = 0;
      const timer = setInterval(() => res.write(`data: ${n++}\n\n`), 10);
      req.sluice!.signal.addEventListener('abort', () => {
        clearInterval(timer);
        stopped.resolve(true);
      });
    });
    running = await listen(app);
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${running.port}/events`, {
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('data: 2')) text += decoder.decode((await reader.read()).value);
    expect(sem.inUse).toBe(1);
    // While the stream is open, the limit is taken.
    expect((await request(running.port, '/events')).status).toBe(503);
    await reader.cancel();
    controller.abort();
    expect(await stopped.promise).toBe(true);
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
  });

  it('250 mixed requests over keep-alive: releases equal admissions, nothing left, no listener warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const sem = new Semaphore(4);
    const limiter = counting(sem);
    const app = express();
    const limit = concurrency({ limit: limiter, timeout: 5000 });
    app.get('/ok', limit, async (_req, res) => {
      await sleep(1);
      res.send('ok');
    });
    app.get('/throw', limit, () => {
      throw new Error('boom');
    });
    app.get('/reject', limit, (_req, _res, next) => {
      sleep(1).then(() => next(new Error('async boom')));
    });
    app.get('/stream', limit, async (_req, res) => {
      res.write('a');
      await sleep(2);
      res.end('b');
    });
    app.get('/hang', limit, (_req, res) => {
      res.write('waiting for the client to leave');
    });
    app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send('error');
    });
    running = await listen(app);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const port = running.port;
    const kinds = ['/ok', '/throw', '/reject', '/stream', '/hang'];
    const statuses: Record<string, number> = {};
    let aborts = 0;
    async function one(i: number) {
      const path = kinds[i % kinds.length]!;
      if (path === '/hang') {
        const open = openRequest(port, path, { agent });
        const response = await open.response;
        await new Promise((resolve) => response.once('data', resolve));
        open.req.destroy();
        aborts++;
        return;
      }
      const reply = await request(port, path, { agent });
      statuses[`${path} ${reply.status}`] = (statuses[`${path} ${reply.status}`] ?? 0) + 1;
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 250) await one(next++);
      }),
    );
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
    agent.destroy();
    process.off('warning', onWarning);
    expect(statuses).toEqual({
      '/ok 200': 50,
      '/throw 500': 50,
      '/reject 500': 50,
      '/stream 200': 50,
    });
    expect(aborts).toBe(50);
    expect(limiter.acquired).toBe(250);
    expect(limiter.releaseCalls).toBe(250);
    expect(sem.stats()).toMatchObject({ inUse: 0, waiting: 0, acquired: 250 });
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
