import { Controller, Get, HttpException, Injectable, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RateLimit,
  RateLimitGuard,
  type Rejection,
  SkipRateLimit,
  SluiceModule,
} from '../src/index.js';
import { boot, get, platforms, type TestApp } from './helpers.js';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

@Controller()
class HelloController {
  @Get('hello')
  @RateLimit({ capacity: 5, refillPerSecond: 1 })
  hello() {
    return 'hello';
  }
  @Get('per-client')
  @RateLimit({ capacity: 2, refillPerSecond: 1, key: (req) => req.headers['x-client'] })
  perClient() {
    return 'ok';
  }
  @Get('async')
  @RateLimit({
    capacity: 1,
    refillPerSecond: 0.01,
    key: async (req) => req.headers['x-client'],
    skip: async (req) => req.headers['x-vip'] === '1',
    cost: async () => 1,
  })
  asyncCallbacks() {
    return 'ok';
  }
  @Get('free')
  @SkipRateLimit()
  free() {
    return 'free';
  }
  @Get('global')
  global() {
    return 'global';
  }
}

/** A subclass that answers refusals with an exception of its own. */
@Injectable()
class TeapotRateLimitGuard extends RateLimitGuard {
  protected override async onRejected(_context: unknown, rejection: Rejection): Promise<never> {
    throw new HttpException({ teapot: true, retry: rejection.retryAfter }, 418);
  }
}

@Controller('teapot')
@UseGuards(RateLimitGuard)
class TeapotController {
  @Get()
  @RateLimit({ capacity: 1, refillPerSecond: 0.5 })
  @SkipRateLimit('default')
  brew() {
    return 'tea';
  }
}

describe.each(platforms)('RateLimitGuard on %s', (platform) => {
  async function app() {
    current = await boot(platform, {
      imports: [
        SluiceModule.forRoot({ rateLimit: { default: { capacity: 3, refillPerSecond: 0.01 } } }),
      ],
      controllers: [HelloController],
      providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
    });
    return current.url;
  }

  it('5 x 200, then 429 with Retry-After, RateLimit headers and a problem+json body', async () => {
    const url = await app();
    for (let i = 0; i < 5; i++) {
      const a = await get(`${url}/hello`);
      expect(a.status).toBe(200);
      expect(a.headers.get('ratelimit-policy')).toBe('"rate-limit";q=5;w=5');
      expect(a.headers.get('ratelimit')).toMatch(new RegExp(`^"rate-limit";r=${4 - i};t=\\d+$`));
    }
    const refused = await get(`${url}/hello`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit-policy')).toBe('"rate-limit";q=5;w=5');
    expect(refused.headers.get('ratelimit')).toMatch(/^"rate-limit";r=0;t=\d+$/);
    expect(refused.body).toMatchObject({
      status: 429,
      reason: 'rate_limited',
      type: expect.any(String),
      title: expect.any(String),
      detail: expect.any(String),
    });
  });

  it('counts per client', async () => {
    const url = await app();
    const as = (client: string) => get(`${url}/per-client`, { headers: { 'x-client': client } });
    expect((await as('a')).status).toBe(200);
    expect((await as('a')).status).toBe(200);
    expect((await as('a')).status).toBe(429);
    expect((await as('b')).status).toBe(200);
  });

  it('key, skip and cost may return promises', async () => {
    const url = await app();
    const as = (client: string, vip = '0') =>
      get(`${url}/async`, { headers: { 'x-client': client, 'x-vip': vip } });
    expect((await as('a')).status).toBe(200);
    expect((await as('a')).status).toBe(429);
    expect((await as('a', '1')).status).toBe(200);
    expect((await as('b')).status).toBe(200);
  });

  it('applies the module default to other routes, and skips where told', async () => {
    const url = await app();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(`${url}/global`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    for (let i = 0; i < 4; i++) {
      const a = await get(`${url}/free`);
      expect(a.status).toBe(200);
      expect(a.headers.get('ratelimit')).toBeNull();
    }
  });

  it('a subclass can answer refusals its own way (onRejected), once per request', async () => {
    current = await boot(platform, {
      imports: [SluiceModule.forRoot()],
      controllers: [TeapotController],
      providers: [{ provide: APP_GUARD, useClass: TeapotRateLimitGuard }],
    });
    const url = current.url;
    // The subclass globally and the base class on the controller: one token taken, not two.
    expect((await get(`${url}/teapot`)).status).toBe(200);
    const refused = await get(`${url}/teapot`);
    expect(refused.status).toBe(418);
    expect(refused.body).toEqual({ teapot: true, retry: 2 });
  });
});
