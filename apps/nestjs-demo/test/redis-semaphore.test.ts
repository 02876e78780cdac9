// @sluice/nestjs's ConcurrencyGuard with a RedisSemaphore as a named limiter of the module
// options (`@Concurrency('fleet')`): two Nest apps (two stores, as two processes would have)
// share one limit; real loopback servers, real HTTP clients (some of which hang up), a real
// redis-server, over both clients.
import 'reflect-metadata';
import { Controller, Get, Module, Query, Req } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import {
  Concurrency,
  ConcurrencyGuard,
  InjectLimiter,
  SluiceModule,
  type SluiceRequestInfo,
} from '@sluice/nestjs';
import { RedisSemaphore, RedisStore } from '@sluice/redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  clientLibraries,
  eventually,
  startRedis,
  type TestRedis,
} from '../../../packages/redis/test/redis-server.js';

let redis: TestRedis;
const cleanups: Array<() => Promise<void>> = [];
let names = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  redis.resume();
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});
afterAll(async () => {
  await redis?.stop();
});

/** What every instance's handlers did, for one test. */
const seen = {
  inFlight: 0,
  peak: 0,
  /** `who` of every request whose handler ran. */
  ran: [] as string[],
  /** Requests with `hold` wait for this before answering. */
  hold: Promise.resolve(),
  letGo: () => {},
  /** `who` of every handler that saw its signal abort. */
  aborted: [] as string[],
};

function resetSeen(): void {
  Object.assign(seen, { inFlight: 0, peak: 0, ran: [], aborted: [] });
  seen.hold = new Promise<void>((resolve) => {
    seen.letGo = resolve;
  });
}

@Controller()
class WorkController {
  constructor(@InjectLimiter('fleet') readonly fleet: RedisSemaphore) {}

  @Get('work')
  @Concurrency('fleet')
  async work(
    @Query('who') who: string,
    @Query('hold') hold: string | undefined,
    @Query('ms') ms: string | undefined,
    @Req() req: { sluice: SluiceRequestInfo },
  ) {
    req.sluice.signal.addEventListener('abort', () => seen.aborted.push(who));
    seen.ran.push(who);
    seen.peak = Math.max(seen.peak, ++seen.inFlight);
    try {
      if (hold !== undefined) await seen.hold;
      else await new Promise((r) => setTimeout(r, Number(ms ?? 50)));
    } finally {
      seen.inFlight--;
    }
    return `${who} ok`;
  }
}

describe.each(clientLibraries)(
  'ConcurrencyGuard with a named RedisSemaphore over $library',
  (library) => {
    /** One "process": its own store, semaphore, Nest app and server. */
    async function instance(name: string) {
      const store = new RedisStore({ client: library.create(redis.url), commandTimeout: 200 });
      const sem = new RedisSemaphore(store, { name, capacity: 2 });
      @Module({
        imports: [SluiceModule.forRoot({ concurrency: { fleet: { limit: sem, timeout: 5000 } } })],
        controllers: [WorkController],
        providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
      })
      class FleetModule {}
      const app = await NestFactory.create(FleetModule, { logger: false });
      await app.listen(0, '127.0.0.1');
      cleanups.push(async () => {
        // fetch keeps spare sockets that never carry a request; they would hold close() ~4 s.
        app.getHttpServer().closeAllConnections();
        await app.close();
        await store.close();
      });
      // The very instance the guard admits through (@InjectLimiter), not a copy.
      expect(app.get(WorkController).fleet).toBe(sem);
      return { url: `http://127.0.0.1:${app.getHttpServer().address().port}`, sem };
    }

    /** A request whose client can hang up (`leave()`); `done` settles either way. */
    function request(url: string) {
      const client = new AbortController();
      const done = fetch(url, { signal: client.signal }).then(
        async (r) => ({ status: r.status, body: await r.text() }),
        () => ({ status: 0, body: 'left' }),
      );
      return { done, leave: () => client.abort() };
    }

    /** Fleet-wide, as Redis sees it: nothing held, nothing waiting, no queue entry left. */
    async function drained(name: string, sem: RedisSemaphore): Promise<boolean> {
      const { inUse, waiting } = await sem.stats();
      const queued = await redis.admin.zcard(`sluice:{${name}}:queue`);
      const held = await redis.admin.zcard(`sluice:{${name}}:holders`);
      return inUse === 0 && waiting === 0 && queued === 0 && held === 0;
    }

    it('two apps share one limit of 2: a burst of 8 spread across them runs at most 2 at once', async () => {
      resetSeen();
      const name = `nest${++names}`;
      const a = await instance(name);
      const b = await instance(name);
      const replies = await Promise.all(
        Array.from(
          { length: 8 },
          (_, i) => request(`${(i % 2 ? a : b).url}/work?ms=60&who=${i}`).done,
        ),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(seen.peak).toBe(2);
      expect(await eventually(() => drained(name, a.sem), 3000)).toBe(true);
      expect((await b.sem.stats()).maxInUse).toBe(2);
    });

    it('a client that leaves while queued leaves the queue in Redis at once, never runs, and leaks nothing', async () => {
      resetSeen();
      const name = `nest${++names}`;
      const a = await instance(name);
      const b = await instance(name);
      // Fill the fleet's limit with one holder on each app.
      const holders = [
        request(`${a.url}/work?hold&who=holder-a`),
        request(`${b.url}/work?hold&who=holder-b`),
      ];
      expect(await eventually(async () => (await a.sem.stats()).inUse === 2, 3000)).toBe(true);

      // Queue two: one on each app; the one on `a` hangs up.
      const leaving = request(`${a.url}/work?who=leaving`);
      expect(await eventually(async () => (await a.sem.stats()).waiting === 1, 3000)).toBe(true);
      const next = request(`${b.url}/work?who=next`);
      expect(await eventually(async () => (await b.sem.stats()).waiting === 2, 3000)).toBe(true);
      leaving.leave();
      expect(await leaving.done).toEqual({ status: 0, body: 'left' });
      expect(await eventually(async () => (await a.sem.stats()).waiting === 1, 3000)).toBe(true);
      expect(await redis.admin.zcard(`sluice:{${name}}:queue`)).toBe(1);

      // The holders finish: the waiter on `b` is served; the one that left never is.
      seen.letGo();
      for (const holder of holders) expect((await holder.done).status).toBe(200);
      expect(await next.done).toEqual({ status: 200, body: 'next ok' });
      expect(seen.ran.sort()).toEqual(['holder-a', 'holder-b', 'next']);
      expect(seen.aborted).toEqual([]);
      expect(await eventually(() => drained(name, a.sem), 3000)).toBe(true);
      expect(await a.sem.stats()).toMatchObject({ aborted: 1, acquired: 1 });
    });

    it('a client that leaves in flight aborts req.sluice.signal; its permit goes back', async () => {
      resetSeen();
      const name = `nest${++names}`;
      const a = await instance(name);
      const b = await instance(name);
      const gone = request(`${a.url}/work?hold&who=gone`);
      expect(await eventually(async () => (await b.sem.stats()).inUse === 1, 3000)).toBe(true);
      gone.leave();
      await gone.done;
      expect(await eventually(() => seen.aborted.includes('gone'), 3000)).toBe(true);
      seen.letGo();
      expect(await eventually(() => drained(name, b.sem), 3000)).toBe(true);
      // Both permits free again, for either app.
      const after = await Promise.all([
        request(`${a.url}/work?who=x`).done,
        request(`${b.url}/work?who=y`).done,
      ]);
      expect(after.map((r) => r.status)).toEqual([200, 200]);
    });

    it('Redis paused: 503 unavailable with Retry-After, never 429; back by itself', async () => {
      resetSeen();
      const name = `nest${++names}`;
      const a = await instance(name);
      expect((await request(`${a.url}/work?who=warm`).done).status).toBe(200);
      redis.pause();
      let down: Response;
      try {
        down = await fetch(`${a.url}/work?who=down`);
      } finally {
        redis.resume();
      }
      expect(down.status).toBe(503);
      expect(down.headers.get('content-type')).toBe('application/problem+json');
      expect(Number(down.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await down.json()).toMatchObject({ reason: 'unavailable', status: 503 });
      expect(seen.ran).toEqual(['warm']);
      let back = await request(`${a.url}/work?who=back`).done;
      for (let i = 0; i < 50 && back.status === 503; i++) {
        await new Promise((r) => setTimeout(r, 100));
        back = await request(`${a.url}/work?who=back`).done;
      }
      expect(back.status).toBe(200);
      expect(await eventually(() => drained(name, a.sem), 3000)).toBe(true);
    });
  },
);
