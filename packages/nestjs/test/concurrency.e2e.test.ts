import {
  BadRequestException,
  type CanActivate,
  Controller,
  type ExecutionContext,
  ForbiddenException,
  Get,
  Injectable,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Semaphore } from '@sluice/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Concurrency,
  ConcurrencyGuard,
  getLimiterToken,
  SluiceModule,
  type SluiceRequestInfo,
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

/** What the burst route saw: arrivals at the guard, handler entries, the most in flight at once. */
class Tracker {
  arrivals: number[] = [];
  order: number[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly allArrived = gate();
}

describe.each(platforms)('ConcurrencyGuard on %s', (platform) => {
  async function burstApp(timeout: number) {
    const tracker = new Tracker();
    /** Records the order in which requests reach the limiter: FIFO is judged against it. */
    @Injectable()
    class RecordingGuard extends ConcurrencyGuard {
      override canActivate(context: ExecutionContext) {
        tracker.arrivals.push(Number(context.switchToHttp().getRequest().query.i));
        if (tracker.arrivals.length === 10) tracker.allArrived.open();
        return super.canActivate(context);
      }
    }
    @Controller()
    class BurstController {
      @Get('slow')
      @Concurrency('burst')
      async slow(@Query('i') i: string) {
        tracker.order.push(Number(i));
        tracker.inFlight++;
        tracker.maxInFlight = Math.max(tracker.maxInFlight, tracker.inFlight);
        // 200 ms of work, counted from when the whole burst is in (a loaded machine may take a
        // while to deliver ten requests).
        await tracker.allArrived.promise;
        await sleep(200);
        tracker.inFlight--;
        return { i: Number(i) };
      }
    }
    current = await boot(platform, {
      imports: [
        SluiceModule.forRoot({ concurrency: { burst: { limit: 2, maxWaiting: 3, timeout } } }),
      ],
      controllers: [BurstController],
      providers: [{ provide: APP_GUARD, useClass: RecordingGuard }],
    });
    const sem = current.app.get<Semaphore>(getLimiterToken('burst'));
    const url = current.url;
    /** Ten simultaneous requests; answers listed in the order the requests reached the limiter. */
    const burst = async () => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => get(`${url}/slow?i=${i}`)),
      );
      return tracker.arrivals.map((i) => answers[i] as Answer);
    };
    return { tracker, sem, burst };
  }

  it('limit 2, maxWaiting 3, timeout 100: 2 admitted, 5 shed at once, 3 time out', async () => {
    const { tracker, sem, burst } = await burstApp(100);
    const answers = await burst();
    const reasons = answers.map((a) => (a.status === 200 ? 'ok' : a.body.reason));
    expect(reasons).toEqual([
      'ok',
      'ok',
      'queue_timeout',
      'queue_timeout',
      'queue_timeout',
      'queue_full',
      'queue_full',
      'queue_full',
      'queue_full',
      'queue_full',
    ]);
    for (const a of answers.slice(2)) {
      expect(a.status).toBe(503);
      expect(a.headers.get('content-type')).toBe('application/problem+json');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(a.body).toMatchObject({
        status: 503,
        type: expect.any(String),
        title: expect.any(String),
      });
    }
    const timedOut = answers.slice(2, 5).map((a) => a.elapsed);
    const shed = answers.slice(5).map((a) => a.elapsed);
    // Timed out after about the 100 ms wait, not when the admitted ones finished (200 ms on).
    for (const ms of timedOut) expect(ms).toBeGreaterThanOrEqual(90);
    expect(Math.max(...shed)).toBeLessThan(Math.min(...timedOut));
    expect(tracker.maxInFlight).toBe(2);
    expect(sem.stats().maxInUse).toBe(2);
    await until(() => sem.inUse === 0 && sem.waiting === 0, 3000, 'the limiter to drain');
    expect(sem.stats()).toMatchObject({ acquired: 2, timedOut: 3, rejected: 5 });
  });

  it('limit 2, maxWaiting 3, timeout 300: 4 admitted in FIFO order, 1 times out, 5 shed', async () => {
    const { tracker, sem, burst } = await burstApp(300);
    const answers = await burst();
    expect(answers.map((a) => a.status)).toEqual([
      200, 200, 200, 200, 503, 503, 503, 503, 503, 503,
    ]);
    expect(answers[4]?.body.reason).toBe('queue_timeout');
    expect(answers.slice(5).every((a) => a.body.reason === 'queue_full')).toBe(true);
    expect(tracker.order).toEqual(tracker.arrivals.slice(0, 4));
    expect(tracker.maxInFlight).toBe(2);
    await until(() => sem.inUse === 0 && sem.waiting === 0, 3000, 'the limiter to drain');
    expect(sem.stats()).toMatchObject({ acquired: 4, timedOut: 1, rejected: 5 });
  });

  it('releases the permit when a later guard refuses with 403', async () => {
    @Injectable()
    class DenyGuard implements CanActivate {
      canActivate(): boolean {
        throw new ForbiddenException('no');
      }
    }
    let ran = false;
    @Controller()
    class C {
      @Get('denied')
      @UseGuards(ConcurrencyGuard, DenyGuard)
      @Concurrency('one')
      denied() {
        ran = true;
        return 'never';
      }
    }
    current = await boot(platform, {
      imports: [SluiceModule.forRoot({ concurrency: { one: { limit: 1, timeout: 200 } } })],
      controllers: [C],
    });
    const sem = current.app.get<Semaphore>(getLimiterToken('one'));
    for (let i = 0; i < 3; i++) {
      const a = await get(`${current.url}/denied`);
      expect(a.status).toBe(403);
      await until(() => sem.inUse === 0, 3000, 'release');
    }
    expect(ran).toBe(false);
    expect(sem.stats()).toMatchObject({ acquired: 3, inUse: 0, waiting: 0, timedOut: 0 });
  });

  it('releases the permit when the handler throws, and the exception filter answers', async () => {
    @Controller()
    class C {
      @Get('bad')
      bad() {
        throw new BadRequestException('nope');
      }
      @Get('boom')
      async boom() {
        await sleep(5);
        throw new Error('boom');
      }
    }
    current = await boot(platform, {
      imports: [SluiceModule.forRoot({ concurrency: { default: { limit: 1, timeout: 200 } } })],
      controllers: [C],
      providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
    });
    const sem = current.app.get<Semaphore>(getLimiterToken('default'));
    const bad = await get(`${current.url}/bad`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ statusCode: 400, message: 'nope' });
    await until(() => sem.inUse === 0, 3000, 'release after 400');
    const boom = await get(`${current.url}/boom`);
    expect(boom.status).toBe(500);
    await until(() => sem.inUse === 0, 3000, 'release after 500');
    expect(sem.stats()).toMatchObject({ acquired: 2, timedOut: 0 });
  });

  it('a client that leaves while queued leaves the queue; one in flight is released once', async () => {
    const gates = new Map([
      ['first', gate()],
      ['gone', gate()],
    ]);
    const entered: string[] = [];
    let inflightSignal: AbortSignal | undefined;
    @Controller()
    class C {
      @Get('hold')
      async held(@Query('id') id: string, @Req() req: { sluice: SluiceRequestInfo }) {
        entered.push(id);
        if (id === 'gone') inflightSignal = req.sluice.signal;
        await gates.get(id)?.promise;
        return id;
      }
    }
    current = await boot(platform, {
      imports: [SluiceModule.forRoot({ concurrency: { default: { limit: 1, maxWaiting: 5 } } })],
      controllers: [C],
      providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
    });
    const sem = current.app.get<Semaphore>(getLimiterToken('default'));
    const first = get(`${current.url}/hold?id=first`);
    await until(() => sem.inUse === 1, 3000, 'first admitted');
    const queued = openRequest(`${current.url}/hold?id=queued`);
    await until(() => sem.waiting === 1, 3000, 'second queued');
    queued.destroy();
    await until(() => sem.waiting === 0, 3000, 'the queued client to leave');
    expect(sem.stats()).toMatchObject({ inUse: 1, aborted: 1 });
    gates.get('first')?.open();
    expect((await first).status).toBe(200);
    await until(() => sem.inUse === 0, 3000, 'release of first');
    await sleep(20);
    expect(entered).toEqual(['first']);

    // In flight: the client goes while the handler works; the signal aborts, the permit returns once.
    const inflight = openRequest(`${current.url}/hold?id=gone`);
    await until(() => entered.includes('gone'), 3000, 'in-flight handler');
    expect(inflightSignal?.aborted).toBe(false);
    inflight.destroy();
    await until(() => inflightSignal?.aborted === true, 3000, 'signal abort');
    await until(() => sem.inUse === 0, 3000, 'release of in-flight');
    gates.get('gone')?.open();
    await sleep(20);
    expect(sem.stats()).toMatchObject({ inUse: 0, available: 1, acquired: 2, aborted: 1 });
    // Still one permit, not two: the next requests run one at a time.
    const [a, b] = await Promise.all([
      get(`${current.url}/hold?id=a`),
      get(`${current.url}/hold?id=b`),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(sem.stats().maxInUse).toBe(1);
  });
});
