import { KeyedSemaphore, Semaphore } from '@sluice/core';
import express5, { type NextFunction, type Request, type Response } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concurrency } from '../src/index.js';
import {
  counting,
  deferred,
  expectProblem,
  frameworks,
  listen,
  type Running,
  reasonOf,
  request,
  sleep,
  tally,
} from './helpers.js';

describe.each(frameworks)('concurrency() on %s', (_label, express) => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  /** 10 simultaneous requests to a 200 ms route; arrivals and starts recorded server-side. */
  async function burst(timeout: number) {
    const sem = new Semaphore(2, { maxWaiting: 3 });
    const arrivals: number[] = [];
    const started: number[] = [];
    let inFlight = 0;
    let highest = 0;
    const app = express();
    app.get(
      '/slow',
      (req, _res, next) => {
        arrivals.push(Number(req.query.id));
        next();
      },
      concurrency({ limit: sem, timeout }),
      async (req, res) => {
        started.push(Number(req.query.id));
        highest = Math.max(highest, ++inFlight);
        await sleep(200);
        inFlight--;
        res.send('done');
      },
    );
    running = await listen(app);
    const port = running.port;
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, id) => request(port, `/slow?id=${id}`)),
    );
    // Release happens on the response's 'close', just after the client has the body.
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
    return { sem, replies, arrivals, started, highest };
  }

  it('limit 2, maxWaiting 3, timeout 100: 2 × 200, 5 queue_full at once, 3 queue_timeout', async () => {
    const { sem, replies, highest } = await burst(100);
    expect(tally(replies)).toEqual({ '200': 2, '503 queue_full': 5, '503 queue_timeout': 3 });
    for (const reply of replies)
      if (reply.status !== 200) expectProblem(reply, 503, JSON.parse(reply.body).reason);
    const at = (label: string) => replies.filter((r) => reasonOf(r) === label).map((r) => r.at);
    // Shed at once, before anyone could time out; timed out before the admitted finished.
    expect(Math.max(...at('503 queue_full'))).toBeLessThan(Math.min(...at('503 queue_timeout')));
    expect(Math.max(...at('503 queue_timeout'))).toBeLessThan(Math.min(...at('200')));
    for (const reply of replies.filter((r) => reasonOf(r) === '503 queue_timeout')) {
      expect(reply.ms).toBeGreaterThanOrEqual(95);
    }
    expect(highest).toBe(2);
    expect(sem.stats()).toMatchObject({
      maxInUse: 2,
      inUse: 0,
      waiting: 0,
      rejected: 5,
      timedOut: 3,
    });
  });

  it('with timeout 300: 4 × 200 in FIFO order, 1 queue_timeout, 5 queue_full', async () => {
    const { sem, replies, arrivals, started } = await burst(300);
    expect(tally(replies)).toEqual({ '200': 4, '503 queue_full': 5, '503 queue_timeout': 1 });
    // The first two arrivals run at once, the next two in arrival order, the fifth times out.
    expect(started).toEqual(arrivals.slice(0, 4));
    const timedOut = replies.findIndex((r) => reasonOf(r) === '503 queue_timeout');
    expect(timedOut).toBe(arrivals[4]);
    expect(sem.stats()).toMatchObject({ maxInUse: 2, inUse: 0, waiting: 0 });
  });

  it('maxWaiting: 0 sheds at once while the limit is taken', async () => {
    const gate = deferred();
    const work = concurrency({ limit: 1, maxWaiting: 0 });
    const app = express();
    app.get('/', work, async (_req, res) => {
      await gate.promise;
      res.send('ok');
    });
    running = await listen(app);
    const first = request(running.port, '/');
    await vi.waitFor(() => expect((work.limiter as Semaphore).inUse).toBe(1));
    const shed = await request(running.port, '/');
    expectProblem(shed, 503, 'queue_full');
    gate.resolve();
    expect((await first).status).toBe(200);
  });

  it('a handler that throws, or rejects, goes to the error path as 500 and frees its permit', async () => {
    const limiter = counting(new Semaphore(1, { maxWaiting: 0 }));
    const app = express();
    app.get('/sync', concurrency({ limit: limiter }), () => {
      throw new Error('boom');
    });
    // Express 4 does not catch a rejected handler: `.catch(next)` is how its users write one.
    const rejecting = async () => {
      await sleep(5);
      throw new Error('async boom');
    };
    app.get('/async', concurrency({ limit: limiter }), (_req, _res, next) => {
      rejecting().catch(next);
    });
    app.get('/ok', concurrency({ limit: limiter }), (_req, res) => {
      res.send('ok');
    });
    app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send('handled');
    });
    running = await listen(app);
    for (const path of ['/sync', '/async', '/sync', '/async']) {
      const reply = await request(running.port, path);
      expect(reply).toMatchObject({ status: 500, body: 'handled' });
      await vi.waitFor(() => expect(limiter.held).toBe(0));
      expect(await request(running.port, '/ok')).toMatchObject({ status: 200, body: 'ok' });
    }
    await vi.waitFor(() => expect(limiter.held).toBe(0));
    expect(limiter.acquired).toBe(8);
    expect(limiter.releaseCalls).toBe(8);
  });

  it('weight(req): a heavy request takes several permits', async () => {
    const sem = new Semaphore(3, { maxWaiting: 0 });
    const gate = deferred();
    const app = express();
    app.get(
      '/',
      concurrency({ limit: sem, weight: (req) => Number(req.query.w ?? 1) }),
      async (_req, res) => {
        await gate.promise;
        res.send('ok');
      },
    );
    running = await listen(app);
    const heavy = request(running.port, '/?w=2');
    await vi.waitFor(() => expect(sem.inUse).toBe(2));
    expectProblem(await request(running.port, '/?w=2'), 503, 'queue_full');
    const light = request(running.port, '/?w=1');
    await vi.waitFor(() => expect(sem.inUse).toBe(3));
    gate.resolve();
    expect((await heavy).status).toBe(200);
    expect((await light).status).toBe(200);
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
  });

  it('a per-client limit times out with 429 queue_timeout', async () => {
    const gate = deferred();
    const app = express();
    app.get('/', concurrency({ limit: 1, timeout: 50, key: () => 'one' }), async (_req, res) => {
      await gate.promise;
      res.send('ok');
    });
    running = await listen(app);
    const first = request(running.port, '/');
    await sleep(20);
    expectProblem(await request(running.port, '/'), 429, 'queue_timeout');
    gate.resolve();
    expect((await first).status).toBe(200);
  });

  it('a per-client limit answers 429 to the saturated client, 200 to another', async () => {
    const gate = deferred();
    const work = concurrency({
      limit: 1,
      maxWaiting: 0,
      key: (req) => String(req.get('x-client')),
    });
    const app = express();
    app.get('/', work, async (_req, res) => {
      await gate.promise;
      res.send('ok');
    });
    running = await listen(app);
    const port = running.port;
    const first = request(port, '/', { headers: { 'x-client': 'a' } });
    const keyed = work.limiter as KeyedSemaphore<string>;
    await vi.waitFor(() => expect(keyed.stats('a')?.inUse).toBe(1));
    expectProblem(await request(port, '/', { headers: { 'x-client': 'a' } }), 429, 'queue_full');
    const other = request(port, '/', { headers: { 'x-client': 'b' } });
    await vi.waitFor(() => expect(keyed.stats('b')?.inUse).toBe(1));
    gate.resolve();
    expect((await first).status).toBe(200);
    expect((await other).status).toBe(200);
    await vi.waitFor(() => expect(keyed.size).toBe(0));
  });

  it('10,000 distinct keys leave no entry behind', async () => {
    const keyed = new KeyedSemaphore<string>(1, { maxWaiting: 1 });
    const app = express();
    app.get(
      '/',
      concurrency({ limit: keyed, key: async (req) => String(req.query.k) }),
      (_req, res) => {
        res.send('ok');
      },
    );
    running = await listen(app);
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const statuses = new Map<number, number>();
    let next = 0;
    const port = running.port;
    async function worker() {
      while (next < 10_000) {
        const k = next++;
        const reply = await request(port, `/?k=${k}`, { agent });
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker));
    agent.destroy();
    expect(Object.fromEntries(statuses)).toEqual({ 200: 10_000 });
    await vi.waitFor(() => expect(keyed.size).toBe(0));
  });

  it('a Semaphore shared by two routes caps them together', async () => {
    const sem = new Semaphore(1, { maxWaiting: 0 });
    const gate = deferred();
    const app = express();
    const shared = concurrency({ limit: sem });
    app.get('/a', shared, async (_req, res) => {
      await gate.promise;
      res.send('a');
    });
    app.get('/b', concurrency({ limit: sem }), (_req, res) => {
      res.send('b');
    });
    running = await listen(app);
    const a = request(running.port, '/a');
    await vi.waitFor(() => expect(sem.inUse).toBe(1));
    expectProblem(await request(running.port, '/b'), 503, 'queue_full');
    gate.resolve();
    expect((await a).body).toBe('a');
    await vi.waitFor(() => expect(sem.inUse).toBe(0));
    expect((await request(running.port, '/b')).body).toBe('b');
  });

  it('skip lets a request through untouched, synchronously or by a promise', async () => {
    const sem = new Semaphore(0, { maxWaiting: 0 }); // admits nobody
    const app = express();
    app.get(
      '/sync',
      concurrency({ limit: sem, skip: (req) => req.query.vip === '1' }),
      (req, res) => {
        res.json({ sluice: req.sluice ?? null });
      },
    );
    app.get(
      '/async',
      concurrency({ limit: sem, skip: async (req) => req.query.vip === '1' }),
      (_req, res) => {
        res.send('ok');
      },
    );
    running = await listen(app);
    expect(await request(running.port, '/sync?vip=1')).toMatchObject({
      status: 200,
      body: '{"sluice":null}',
    });
    expect(await request(running.port, '/async?vip=1')).toMatchObject({ status: 200, body: 'ok' });
    expectProblem(await request(running.port, '/sync'), 503, 'queue_full');
    expectProblem(await request(running.port, '/async'), 503, 'queue_full');
  });

  it('onRejected answers its own way, written once', async () => {
    const sem = new Semaphore(0, { maxWaiting: 0 });
    const errors: unknown[] = [];
    const seen: string[] = [];
    const app = express();
    app.get(
      '/',
      concurrency({
        limit: sem,
        onRejected: (_req, res, _next, rejection) => {
          seen.push(`${rejection.status} ${rejection.reason} ${rejection.retryAfter}`);
          res
            .status(503)
            .set('Retry-After', String(rejection.retryAfter))
            .type('text')
            .send('busy');
        },
      }),
      (_req, res) => {
        res.send('never');
      },
    );
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      errors.push(err);
      res.end();
    });
    running = await listen(app);
    const reply = await request(running.port, '/');
    expect(reply).toMatchObject({ status: 503, body: 'busy' });
    expect(reply.headers['retry-after']).toBe('1');
    expect(seen).toEqual(['503 queue_full 1']);
    await sleep(20);
    expect(errors).toEqual([]);
  });

  it('an onRejected that throws or rejects goes to the error path', async () => {
    const sem = new Semaphore(0, { maxWaiting: 0 });
    const app = express();
    app.get(
      '/sync',
      concurrency({
        limit: sem,
        onRejected: () => {
          throw new Error('x');
        },
      }),
    );
    app.get(
      '/async',
      concurrency({
        limit: sem,
        onRejected: async () => {
          throw new Error('y');
        },
      }),
    );
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send(err.message);
    });
    running = await listen(app);
    expect(await request(running.port, '/sync')).toMatchObject({ status: 500, body: 'x' });
    expect(await request(running.port, '/async')).toMatchObject({ status: 500, body: 'y' });
  });

  it('headers: true sends concurrent-requests RateLimit headers, admitted and refused', async () => {
    const sem = new Semaphore(2, { maxWaiting: 0 });
    const gate = deferred();
    const app = express();
    app.get('/', concurrency({ limit: sem, headers: true, name: 'work' }), async (_req, res) => {
      await gate.promise;
      res.send('ok');
    });
    running = await listen(app);
    const first = request(running.port, '/');
    await vi.waitFor(() => expect(sem.inUse).toBe(1));
    const second = request(running.port, '/');
    await vi.waitFor(() => expect(sem.inUse).toBe(2));
    const refused = await request(running.port, '/');
    expectProblem(refused, 503, 'queue_full');
    expect(refused.headers['ratelimit-policy']).toBe('"work";q=2;qu="concurrent-requests"');
    expect(refused.headers.ratelimit).toBe('"work";r=0;t=1');
    gate.resolve();
    const replies = await Promise.all([first, second]);
    expect(replies.map((r) => r.headers.ratelimit)).toEqual(['"work";r=1;t=0', '"work";r=0;t=1']);
    expect(replies[0]!.headers['ratelimit-policy']).toBe('"work";q=2;qu="concurrent-requests"');
  });

  it('headers are off by default', async () => {
    const app = express();
    app.get('/', concurrency({ limit: 2 }), (_req, res) => {
      res.send('ok');
    });
    running = await listen(app);
    const reply = await request(running.port, '/');
    expect(reply.headers.ratelimit).toBeUndefined();
    expect(reply.headers['ratelimit-policy']).toBeUndefined();
  });

  it('a closed limiter answers 503 closed; a failing key callback goes to the error path', async () => {
    const sem = new Semaphore(1);
    sem.close();
    const app = express();
    app.get('/closed', concurrency({ limit: sem }), (_req, res) => {
      res.send('never');
    });
    app.get(
      '/bad-key',
      concurrency({
        limit: 1,
        key: () => {
          throw new Error('no key');
        },
      }),
      (_req, res) => {
        res.send('never');
      },
    );
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send(err.message);
    });
    running = await listen(app);
    expectProblem(await request(running.port, '/closed'), 503, 'closed');
    expect(await request(running.port, '/bad-key')).toMatchObject({ status: 500, body: 'no key' });
  });

  it('the admitted request carries req.sluice: signal and waitedMs', async () => {
    const gate = deferred();
    const app = express();
    const seen: { aborted: boolean; waitedMs: number }[] = [];
    app.get('/', concurrency({ limit: 1 }), async (req, res) => {
      seen.push({ aborted: req.sluice!.signal.aborted, waitedMs: req.sluice!.waitedMs });
      if (req.query.hold) await gate.promise;
      res.send('ok');
    });
    running = await listen(app);
    const first = request(running.port, '/?hold=1');
    await vi.waitFor(() => expect(seen).toHaveLength(1));
    const second = request(running.port, '/');
    await sleep(60);
    gate.resolve();
    await Promise.all([first, second]);
    expect(seen[0]).toEqual({ aborted: false, waitedMs: 0 });
    expect(seen[1]!.aborted).toBe(false);
    expect(seen[1]!.waitedMs).toBeGreaterThanOrEqual(50);
  });
});

describe('concurrency() on express 5 only', () => {
  it('a rejected async handler is caught by Express 5 itself; the permit is freed', async () => {
    const sem = new Semaphore(1, { maxWaiting: 0 });
    const app = express5();
    app.get('/', concurrency({ limit: sem }), async () => {
      await sleep(5);
      throw new Error('async boom');
    });
    app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send('handled');
    });
    const running = await listen(app);
    try {
      expect(await request(running.port, '/')).toMatchObject({ status: 500, body: 'handled' });
      await vi.waitFor(() => expect(sem.inUse).toBe(0));
      expect(sem.stats().acquired).toBe(1);
    } finally {
      await running.close();
    }
  });
});
