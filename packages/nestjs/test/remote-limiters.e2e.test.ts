// Remote limiters (answers come late, as from a shared store) and adaptive limits as named
// limiters of SluiceModule, through both guards, on the Express and the Fastify platform.
import { getEventListeners } from 'node:events';
import {
  Controller,
  type ExecutionContext,
  GatewayTimeoutException,
  Get,
  Injectable,
  Param,
  ServiceUnavailableException,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { TimeoutError, UnavailableError } from '@sluice/core';
import {
  AdaptiveLimiter,
  RemoteKeyedLimiter,
  RemoteLimiter,
  RemoteRateLimiter,
} from '@sluice/test-limiters';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Concurrency,
  ConcurrencyGuard,
  ConcurrencyInterceptor,
  RateLimit,
  RateLimitGuard,
  type RequestOutcome,
  SluiceModule,
  type SluiceModuleOptions,
} from '../src/index.js';
import {
  type Answer,
  boot,
  gate,
  get,
  openRequest,
  platforms,
  sleep,
  type TestApp,
  until,
} from './helpers.js';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** What the handlers and guards saw; reset for each test. */
const seen = {
  handled: 0,
  hold: Promise.resolve(),
  /** The Node response of every request the guards met (both guards meet each). */
  responses: new Set<{ statusCode: number }>(),
};

function record(context: ExecutionContext): void {
  const res = context.switchToHttp().getResponse();
  seen.responses.add(res.raw ?? res);
}

@Injectable()
class RecordingConcurrencyGuard extends ConcurrencyGuard {
  override canActivate(context: ExecutionContext) {
    record(context);
    return super.canActivate(context);
  }
}

@Injectable()
class RecordingRateLimitGuard extends RateLimitGuard {
  override canActivate(context: ExecutionContext) {
    record(context);
    return super.canActivate(context);
  }
}

@Controller()
@UseGuards(RecordingRateLimitGuard, RecordingConcurrencyGuard)
class RemoteController {
  @Get('rate')
  @RateLimit('remote')
  rate() {
    seen.handled++;
    return 'ok';
  }

  @Get('work')
  @Concurrency('remote')
  async work() {
    seen.handled++;
    await seen.hold;
    return 'ok';
  }

  @Get('keyed')
  @Concurrency('keyed')
  async keyed() {
    await seen.hold;
    return 'ok';
  }

  @Get('db/:code')
  @Concurrency('db')
  async db(@Param('code') code: string) {
    await seen.hold;
    if (code === '503') throw new ServiceUnavailableException();
    if (code === '504') throw new GatewayTimeoutException();
    if (code === 'timeout') throw new TimeoutError(50);
    if (code === 'boom') throw new Error('boom');
    return 'ok';
  }
}

/** The interceptor holds its permits while the handler runs, and sees what it throws. */
@Controller('intercepted')
@UseInterceptors(ConcurrencyInterceptor)
class InterceptedController {
  @Get(':code')
  @Concurrency('db')
  db(@Param('code') code: string) {
    if (code === 'timeout') throw new TimeoutError(50);
    if (code === '503') throw new ServiceUnavailableException();
    return 'ok';
  }
}

function expectProblem(answer: Answer, status: number, reason: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toBe('application/problem+json');
  expect(answer.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
  expect(answer.body).toMatchObject({ status, reason });
}

describe.each(platforms)('remote and adaptive limiters on %s', (platform) => {
  async function app(options: SluiceModuleOptions): Promise<string> {
    seen.handled = 0;
    seen.hold = Promise.resolve();
    seen.responses.clear();
    current = await boot(platform, {
      imports: [SluiceModule.forRoot(options)],
      controllers: [RemoteController, InterceptedController],
    });
    return current.url;
  }

  /** Hangs up once `pending()` says the limiter has the request; waits for the server to see it. */
  async function leaveWhilePending(url: string, pending: () => number): Promise<void> {
    const client = openRequest(url);
    await until(() => pending() === 1, 3000, 'the limiter to have the request');
    client.destroy();
    await client.done;
    await until(() => pending() === 0, 3000, 'the late answer');
    await sleep(20);
  }

  describe('RateLimitGuard with a RateLimiter whose tryTake answers late', () => {
    it('admits, then refuses with 429 and RateLimit headers, as the store decides', async () => {
      const limiter = new RemoteRateLimiter({ capacity: 2, refillPerSecond: 0.001, delayMs: 50 });
      const url = await app({ rateLimit: { remote: { limiter, key: () => 'k' } } });
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await get(`${url}/rate`));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
      expect(answers.map((a) => a.headers.get('ratelimit'))).toEqual([
        '"remote";r=1;t=1000',
        '"remote";r=0;t=2000',
        '"remote";r=0;t=2000',
      ]);
      expectProblem(answers[2]!, 429, 'rate_limited');
      expect(seen.handled).toBe(2);
    });

    for (const outcome of ['grant', 'refusal'] as const) {
      it(`a client that leaves while tryTake is pending: the late ${outcome} writes nothing, the handler never runs`, async () => {
        const limiter = new RemoteRateLimiter({
          capacity: 1,
          refillPerSecond: 0.001,
          delayMs: 100,
        });
        if (outcome === 'refusal') limiter.inner.tryTake('k');
        const url = await app({ rateLimit: { remote: { limiter, key: () => 'k' } } });
        await leaveWhilePending(`${url}/rate`, () => limiter.pending);
        expect(seen.handled).toBe(0);
        // No refusal (nor anything else) was answered: the status was never set.
        expect([...seen.responses].map((r) => r.statusCode)).toEqual([200]);
      });
    }

    it('an UnavailableError answers 503 unavailable with Retry-After, never 429', async () => {
      const limiter = new RemoteRateLimiter({ capacity: 5, refillPerSecond: 1, delayMs: 20 });
      limiter.fail = new UnavailableError();
      const url = await app({ rateLimit: { remote: { limiter } } });
      expectProblem(await get(`${url}/rate`), 503, 'unavailable');
      expect(seen.handled).toBe(0);
    });

    it('a degraded grant admits, without RateLimit headers', async () => {
      const limiter = new RemoteRateLimiter({ capacity: 5, refillPerSecond: 1, delayMs: 20 });
      limiter.degraded = true;
      const url = await app({ rateLimit: { remote: { limiter } } });
      const answer = await get(`${url}/rate`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('ratelimit')).toBeNull();
    });
  });

  describe('ConcurrencyGuard with a Limiter that has no tryAcquire', () => {
    it('goes to acquire({ signal, timeout, weight }) and admits or refuses as it answers', async () => {
      const limiter = new RemoteLimiter(1, { delayMs: 30 });
      const url = await app({ concurrency: { remote: { limit: limiter, timeout: 100 } } });
      const held = gate();
      seen.hold = held.promise;
      const first = get(`${url}/work`);
      await until(() => limiter.inUse === 1, 3000, 'the first admitted');
      expectProblem(await get(`${url}/work`), 503, 'queue_timeout');
      held.open();
      expect((await first).status).toBe(200);
      await until(() => limiter.inUse === 0, 3000, 'the release');
      expect(limiter.seen[0]).toMatchObject({ timeout: 100, weight: 1 });
    });

    for (const honourSignal of [true, false]) {
      it(`a client that leaves while acquire is pending leaves nothing behind (limiter ${honourSignal ? 'honours' : 'ignores'} the signal)`, async () => {
        const limiter = new RemoteLimiter(1, { delayMs: 100, honourSignal });
        const url = await app({ concurrency: { remote: { limit: limiter } } });
        await leaveWhilePending(`${url}/work`, () => limiter.pending);
        expect(limiter.acquired).toBe(honourSignal ? 0 : 1);
        expect(limiter.inUse).toBe(0);
        expect(seen.handled).toBe(0);
        expect([...seen.responses].map((r) => r.statusCode)).toEqual([200]);
        const signal = limiter.seen[0]!.signal!;
        expect(signal.aborted).toBe(true);
        expect(getEventListeners(signal, 'abort')).toEqual([]);
      });
    }

    it('an UnavailableError answers 503 unavailable with the Retry-After of `retryAfter`', async () => {
      const limiter = new RemoteLimiter(1, { delayMs: 20 });
      limiter.fail = new UnavailableError();
      const url = await app({ concurrency: { remote: { limit: limiter, retryAfter: 3 } } });
      const answer = await get(`${url}/work`);
      expectProblem(answer, 503, 'unavailable');
      expect(answer.headers.get('retry-after')).toBe('3');
    });

    it('a remote KeyedLimiter: 429 for the saturated client, 200 for another, 503 if unavailable', async () => {
      const limiter = new RemoteKeyedLimiter(1, { delayMs: 20 });
      const url = await app({
        concurrency: { keyed: { limit: limiter, key: (req) => req.headers['x-client'] } },
      });
      const held = gate();
      seen.hold = held.promise;
      const first = get(`${url}/keyed`, { headers: { 'x-client': 'a' } });
      await until(() => limiter.inner.stats('a')?.inUse === 1, 3000, 'a admitted');
      expectProblem(await get(`${url}/keyed`, { headers: { 'x-client': 'a' } }), 429, 'queue_full');
      held.open();
      expect((await first).status).toBe(200);
      expect((await get(`${url}/keyed`, { headers: { 'x-client': 'b' } })).status).toBe(200);
      await until(() => limiter.inner.size === 0, 3000, 'no key left');
      // The store being down is the server's state: 503 even for a per-client limit.
      limiter.fail = new UnavailableError();
      expectProblem(
        await get(`${url}/keyed`, { headers: { 'x-client': 'a' } }),
        503,
        'unavailable',
      );
    });
  });

  describe('an adaptive limit as a named limiter', () => {
    async function endingOf(limiter: AdaptiveLimiter, url: string): Promise<string | undefined> {
      const before = limiter.endings.length;
      await get(url);
      await until(() => limiter.endings.length === before + 1, 3000, 'the permit back');
      return limiter.endings.at(-1);
    }

    it('ConcurrencyGuard: 200 -> release; 503 and 504 -> drop; a client that leaves -> ignore', async () => {
      const limiter = new AdaptiveLimiter(2);
      const url = await app({ concurrency: { db: { limit: limiter } } });
      expect(await endingOf(limiter, `${url}/db/200`)).toBe('release');
      expect(await endingOf(limiter, `${url}/db/503`)).toBe('drop');
      expect(await endingOf(limiter, `${url}/db/504`)).toBe('drop');
      // A guard sees the response only: a TimeoutError is the 500 Nest answers for it.
      expect(await endingOf(limiter, `${url}/db/boom`)).toBe('release');
      const held = gate();
      seen.hold = held.promise;
      const client = openRequest(`${url}/db/200`);
      await until(() => limiter.inUse === 1, 3000, 'admitted');
      client.destroy();
      await until(() => limiter.endings.length === 5, 3000, 'the permit back');
      expect(limiter.endings.at(-1)).toBe('ignore');
      held.open();
    });

    it('ConcurrencyInterceptor: a thrown TimeoutError -> drop', async () => {
      const limiter = new AdaptiveLimiter(2);
      const url = await app({ concurrency: { db: { limit: limiter } } });
      expect(await endingOf(limiter, `${url}/intercepted/timeout`)).toBe('drop');
      expect(await endingOf(limiter, `${url}/intercepted/503`)).toBe('drop');
      expect(await endingOf(limiter, `${url}/intercepted/200`)).toBe('release');
    });

    it('classify overrides, in the guard and the interceptor', async () => {
      const limiter = new AdaptiveLimiter(2);
      const outcomes: RequestOutcome[] = [];
      const classify = (outcome: RequestOutcome) => {
        outcomes.push(outcome);
        return outcome.status === 200 ? 'ignore' : 'success';
      };
      const url = await app({ concurrency: { db: { limit: limiter, classify } } });
      expect(await endingOf(limiter, `${url}/db/200`)).toBe('ignore');
      expect(await endingOf(limiter, `${url}/db/503`)).toBe('release');
      expect(await endingOf(limiter, `${url}/intercepted/timeout`)).toBe('release');
      expect(outcomes).toEqual([
        { status: 200, clientLeft: false },
        { status: 503, clientLeft: false },
        { status: 500, error: expect.any(TimeoutError), clientLeft: false },
      ]);
    });
  });
});
