import { KeyedTokenBucket } from '@sluice/core';
import { PROBLEM_CONTENT_TYPE } from '@sluice/core/http';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../src/index.js';
import { type Served, serveApp } from './helpers.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

function helloApp(middleware: ReturnType<typeof rateLimit>) {
  const app = new Hono();
  const errors: Error[] = [];
  app.onError((error, c) => {
    errors.push(error);
    return c.text('error', 500);
  });
  app.get('/hello', middleware, (c) => c.text('hello'));
  return { app, errors };
}

describe('rateLimit on @hono/node-server (default key: the socket address)', () => {
  it('5 x 200 then 429 with Retry-After and RateLimit headers; X-Forwarded-For changes nothing', async () => {
    const { app } = helloApp(rateLimit({ capacity: 5, refillPerSecond: 1 }));
    served = await serveApp(app);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${served.url}/hello`, {
        headers: { 'x-forwarded-for': `10.0.0.${i}` },
      });
      statuses.push(r.status);
      expect(await r.text()).toBe('hello');
      expect(r.headers.get('ratelimit-policy')).toBe('"rate-limit";q=5;w=5');
      expect(r.headers.get('ratelimit')).toMatch(new RegExp(`^"rate-limit";r=${4 - i};t=\\d+$`));
    }
    const refused = await fetch(`${served.url}/hello`, {
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    statuses.push(refused.status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(refused.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('ratelimit-policy')).toBe('"rate-limit";q=5;w=5');
    expect(refused.headers.get('ratelimit')).toBe('"rate-limit";r=0;t=5');
    expect(await refused.json()).toMatchObject({
      status: 429,
      reason: 'rate_limited',
      retryAfter: 1,
    });
  });
});

describe('rateLimit in-process', () => {
  it('refuses to guess a key on an unknown runtime, with a message saying what to pass', async () => {
    const { app, errors } = helloApp(rateLimit({ capacity: 5, refillPerSecond: 1 }));
    const response = await app.request('/hello', {
      headers: { 'x-forwarded-for': '198.51.100.1' },
    });
    expect(response.status).toBe(500);
    expect(errors[0]?.message).toMatch(/`key`/);
    expect(errors[0]?.message).toMatch(/getConnInfo/);
  });

  it('reads the address Bun and Deno pass as env', async () => {
    const limiter = new KeyedTokenBucket<string>({ capacity: 1, refillPerSecond: 1 });
    const { app } = helloApp(rateLimit({ limiter }));
    const bun = { requestIP: () => ({ address: '192.0.2.1', family: 'IPv4', port: 1 }) };
    const deno = { remoteAddr: { hostname: '192.0.2.2', port: 1, transport: 'tcp' } };
    expect((await app.request('/hello', {}, bun)).status).toBe(200);
    expect((await app.request('/hello', {}, bun)).status).toBe(429);
    expect((await app.request('/hello', {}, deno)).status).toBe(200);
    expect((await app.request('/hello', {}, deno)).status).toBe(429);
    expect(limiter.tokens('192.0.2.1')).toBe(0);
    expect(limiter.tokens('192.0.2.2')).toBe(0);
  });

  it('uses getConnInfo when given', async () => {
    const limiter = new KeyedTokenBucket<string>({ capacity: 1, refillPerSecond: 1 });
    const { app } = helloApp(
      rateLimit({
        limiter,
        getConnInfo: (c) => ({ remote: { address: c.req.header('cf-connecting-ip') } }),
      }),
    );
    const from = (ip: string) => ({ headers: { 'cf-connecting-ip': ip } });
    expect((await app.request('/hello', from('192.0.2.7'))).status).toBe(200);
    expect((await app.request('/hello', from('192.0.2.7'))).status).toBe(429);
    expect((await app.request('/hello', from('192.0.2.8'))).status).toBe(200);
  });

  it('key(c): one client is limited, another is not; buckets refill from the clock', async () => {
    let now = 0;
    const limiter = new KeyedTokenBucket<string>({
      capacity: 2,
      refillPerSecond: 1,
      now: () => now,
    });
    const { app } = helloApp(rateLimit({ limiter, key: async (c) => c.req.query('u')! }));
    const status = async (u: string) => (await app.request(`/hello?u=${u}`)).status;
    expect([await status('a'), await status('a'), await status('a')]).toEqual([200, 200, 429]);
    expect(await status('b')).toBe(200);
    now += 1000;
    expect(await status('a')).toBe(200);
    expect(await status('a')).toBe(429);
  });

  it("each response carries its own client's count, whether the last value repeats or not", async () => {
    let now = 0;
    const limiter = new KeyedTokenBucket<string>({
      capacity: 4,
      refillPerSecond: 1,
      now: () => now,
    });
    const { app } = helloApp(rateLimit({ limiter, key: (c) => c.req.query('u')! }));
    const count = async (u: string) =>
      (await app.request(`/hello?u=${u}`)).headers.get('ratelimit');
    // Interleaved clients at different levels, then the same value twice in a row.
    expect(await count('a')).toBe('"rate-limit";r=3;t=1');
    expect(await count('a')).toBe('"rate-limit";r=2;t=2');
    expect(await count('b')).toBe('"rate-limit";r=3;t=1');
    expect(await count('a')).toBe('"rate-limit";r=1;t=3');
    expect(await count('c')).toBe('"rate-limit";r=3;t=1');
    expect(await count('d')).toBe('"rate-limit";r=3;t=1');
    now += 10_000;
    // Everyone is full again: a full bucket less one, request after request.
    for (const u of ['a', 'b', 'a']) {
      expect(await count(u)).toBe('"rate-limit";r=3;t=1');
      now += 10_000;
    }
    expect(await count('b')).toBe('"rate-limit";r=3;t=1');
    expect(await count('b')).toBe('"rate-limit";r=2;t=2');
  });

  it('Retry-After is the whole seconds until a token is back', async () => {
    const now = 0;
    const limiter = new KeyedTokenBucket<string>({
      capacity: 1,
      refillPerSecond: 0.25,
      now: () => now,
    });
    const { app } = helloApp(rateLimit({ limiter, key: () => 'k' }));
    await app.request('/hello');
    const refused = await app.request('/hello');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('4');
    expect((await refused.json()).retryAfter).toBe(4);
  });

  it('10,000 distinct keys leave no entry behind once refilled', async () => {
    let now = 0;
    const limiter = new KeyedTokenBucket<string>({
      capacity: 5,
      refillPerSecond: 1,
      now: () => now,
    });
    const { app } = helloApp(rateLimit({ limiter, key: (c) => c.req.query('u')! }));
    for (let batch = 0; batch < 10; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => app.request(`/hello?u=${batch * 1000 + i}`)),
      );
      expect(responses.every((r) => r.status === 200)).toBe(true);
    }
    now += 1000;
    expect(limiter.size).toBe(0);
  });

  it('skip, cost, headers: false and onRejected', async () => {
    const app = new Hono();
    const limiter = new KeyedTokenBucket<string>({ capacity: 3, refillPerSecond: 1 });
    app.get(
      '/hello',
      rateLimit({
        limiter,
        key: () => 'k',
        headers: false,
        skip: (c) => c.req.query('skip') === '1',
        cost: (c) => Number(c.req.query('cost') ?? 1),
        onRejected: (c, rejection) => c.text(`slow down: ${rejection.retryAfter}`, 429),
      }),
      (c) => c.text('hello'),
    );
    const ok = await app.request('/hello?cost=2');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit')).toBeNull();
    const refused = await app.request('/hello?cost=2');
    expect(refused.status).toBe(429);
    expect(await refused.text()).toBe('slow down: 1');
    expect((await app.request('/hello?skip=1')).status).toBe(200);
    expect(limiter.tokens('k')).toBe(1);
  });

  it("sets headers on a Response the handler made itself, and on onError's", async () => {
    const app = new Hono();
    app.onError((_error, c) => c.text('oops', 500));
    const limit = rateLimit({ capacity: 5, refillPerSecond: 1, key: () => 'k' });
    app.get('/raw', limit, () => new Response('raw', { headers: { 'x-own': '1' } }));
    app.get('/boom', limit, () => {
      throw new Error('boom');
    });
    const raw = await app.request('/raw');
    expect(await raw.text()).toBe('raw');
    expect(raw.headers.get('x-own')).toBe('1');
    expect(raw.headers.get('ratelimit')).toBe('"rate-limit";r=4;t=1');
    const boom = await app.request('/boom');
    expect(boom.status).toBe(500);
    expect(boom.headers.get('ratelimit')).toBe('"rate-limit";r=3;t=2');
  });

  it('sets headers on a response whose headers are immutable', async () => {
    const app = new Hono();
    app.get('/go', rateLimit({ capacity: 5, refillPerSecond: 1, key: () => 'k' }), () =>
      Response.redirect('http://example.com/', 302),
    );
    const response = await app.request('/go');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('http://example.com/');
    expect(response.headers.get('ratelimit')).toBe('"rate-limit";r=4;t=1');
  });

  it('a closed bucket answers 503 closed', async () => {
    const limiter = new KeyedTokenBucket<string>({ capacity: 1, refillPerSecond: 1 });
    limiter.close();
    const { app } = helloApp(rateLimit({ limiter, key: () => 'k' }));
    const response = await app.request('/hello');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect((await response.json()).reason).toBe('closed');
  });
});
