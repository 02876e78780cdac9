import { KeyedTokenBucket } from '@sluice/core';
import type { NextFunction, Request, Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../src/index.js';
import { expectProblem, frameworks, listen, type Running, request } from './helpers.js';

describe.each(frameworks)('rateLimit() on %s', (_label, express) => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  function hello(app: ReturnType<typeof express>, options = {}) {
    app.get('/hello', rateLimit({ capacity: 5, refillPerSecond: 1, ...options }), (req, res) => {
      res.json({ ip: req.ip });
    });
  }

  it('6 quick requests with capacity 5: 5 × 200 then 429 with Retry-After and RateLimit headers', async () => {
    const app = express();
    hello(app);
    running = await listen(app);
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await request(running.port, '/hello'));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(replies.map((r) => r.headers.ratelimit)).toEqual([
      '"rate-limit";r=4;t=1',
      '"rate-limit";r=3;t=2',
      '"rate-limit";r=2;t=3',
      '"rate-limit";r=1;t=4',
      '"rate-limit";r=0;t=5',
      '"rate-limit";r=0;t=5',
    ]);
    for (const reply of replies)
      expect(reply.headers['ratelimit-policy']).toBe('"rate-limit";q=5;w=5');
    const refused = replies[5]!;
    expectProblem(refused, 429, 'rate_limited');
    expect(refused.headers['retry-after']).toBe('1');
  });

  it('the default key is req.ip honouring trust proxy: another client is unaffected', async () => {
    const app = express();
    app.set('trust proxy', 'loopback');
    hello(app);
    running = await listen(app);
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 5; i++) {
      expect((await request(running.port, '/hello', from('203.0.113.1'))).status).toBe(200);
    }
    expectProblem(await request(running.port, '/hello', from('203.0.113.1')), 429, 'rate_limited');
    const other = await request(running.port, '/hello', from('203.0.113.2'));
    expect(other.status).toBe(200);
    expect(JSON.parse(other.body)).toEqual({ ip: '203.0.113.2' });
  });

  it('without trust proxy a forged X-Forwarded-For changes nothing', async () => {
    const app = express();
    hello(app);
    running = await listen(app);
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const reply = await request(running.port, '/hello', {
        headers: { 'x-forwarded-for': `198.51.100.${i}` },
      });
      statuses.push(reply.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('key(req) may be async; cost(req) takes several tokens', async () => {
    const app = express();
    app.get(
      '/',
      rateLimit({
        capacity: 5,
        refillPerSecond: 1,
        key: async (req) => String(req.get('x-user')),
        cost: (req) => Number(req.query.cost ?? 1),
      }),
      (_req, res) => {
        res.send('ok');
      },
    );
    running = await listen(app);
    const as = (user: string) => ({ headers: { 'x-user': user } });
    expect((await request(running.port, '/?cost=4', as('a'))).status).toBe(200);
    expectProblem(await request(running.port, '/?cost=2', as('a')), 429, 'rate_limited');
    expect((await request(running.port, '/', as('a'))).status).toBe(200);
    expect((await request(running.port, '/?cost=5', as('b'))).status).toBe(200);
  });

  it('Retry-After is the whole seconds until the next token', async () => {
    const app = express();
    app.get('/', rateLimit({ capacity: 1, refillPerSecond: 0.25 }), (_req, res) => {
      res.send('ok');
    });
    running = await listen(app);
    expect((await request(running.port, '/')).status).toBe(200);
    const refused = await request(running.port, '/');
    expectProblem(refused, 429, 'rate_limited');
    expect(['3', '4']).toContain(refused.headers['retry-after']);
  });

  it('skip, headers: false and onRejected', async () => {
    const app = express();
    const errors: unknown[] = [];
    app.get(
      '/',
      rateLimit({
        capacity: 1,
        refillPerSecond: 1,
        headers: false,
        skip: async (req) => req.query.health === '1',
        onRejected: (_req, res, _next, rejection) => {
          res.status(rejection.status).send(`slow down, retry in ${rejection.retryAfter}s`);
        },
      }),
      (_req, res) => {
        res.send('ok');
      },
    );
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      errors.push(err);
      res.end();
    });
    running = await listen(app);
    const first = await request(running.port, '/');
    expect(first.status).toBe(200);
    expect(first.headers.ratelimit).toBeUndefined();
    expect(await request(running.port, '/')).toMatchObject({
      status: 429,
      body: 'slow down, retry in 1s',
    });
    expect((await request(running.port, '/?health=1')).status).toBe(200);
    expect(errors).toEqual([]);
  });

  it('a shared KeyedTokenBucket is one budget for two routes; closed answers 503', async () => {
    const bucket = new KeyedTokenBucket<string>({ capacity: 2, refillPerSecond: 1 });
    const app = express();
    const ok = (_req: Request, res: Response) => {
      res.send('ok');
    };
    app.get('/a', rateLimit({ capacity: 2, refillPerSecond: 1, limiter: bucket }), ok);
    app.get('/b', rateLimit({ limiter: bucket }), ok); // its capacity and rate apply
    running = await listen(app);
    expect((await request(running.port, '/a')).status).toBe(200);
    const b = await request(running.port, '/b');
    expect(b.status).toBe(200);
    expect(b.headers['ratelimit-policy']).toBe('"rate-limit";q=2;w=2');
    expectProblem(await request(running.port, '/a'), 429, 'rate_limited');
    bucket.close();
    expectProblem(await request(running.port, '/b'), 503, 'closed');
  });

  it('a failing key goes to the error path', async () => {
    const app = express();
    app.get(
      '/',
      rateLimit({
        capacity: 1,
        refillPerSecond: 1,
        key: async () => {
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
    expect(await request(running.port, '/')).toMatchObject({ status: 500, body: 'no key' });
  });

  it('many distinct clients leave no bucket behind once refilled', async () => {
    const app = express();
    const limit = rateLimit({
      capacity: 2,
      refillPerSecond: 1000,
      key: (req) => String(req.query.k),
    });
    app.get('/', limit, (_req, res) => {
      res.send('ok');
    });
    running = await listen(app);
    for (let k = 0; k < 200; k++)
      expect((await request(running.port, `/?k=${k}`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(limit.limiter.size).toBe(0);
  });
});
