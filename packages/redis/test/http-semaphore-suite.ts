// One suite for every framework adapter that takes a RedisSemaphore as its concurrency `limit`:
// two servers (two stores, as two processes would have) share one limit; real loopback
// servers, real HTTP clients (some of which hang up), a real redis-server, over both clients.
// It imports no adapter: the demos' tests call it with a function that serves `GET /work` (see
// apps/hono-demo/test/redis-semaphore.test.ts), so this package does not depend on them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisSemaphore, RedisStore } from '../src/index.js';
import { clientLibraries, eventually, startRedis, type TestRedis } from './redis-server.js';

/** What the handlers of every server did, for one test. */
export class WorkSeen {
  inFlight = 0;
  peak = 0;
  /** `who` of every request whose handler ran. */
  readonly ran: string[] = [];
  /** `who` of every handler whose signal aborted. */
  readonly aborted: string[] = [];
  letGo: () => void = () => {};
  /** Requests with `hold` wait for `letGo()` before answering. */
  readonly hold = new Promise<void>((resolve) => {
    this.letGo = resolve;
  });

  /**
   * The handler of `GET /work?who=W[&hold][&ms=N]`, behind the limit: records, waits N ms
   * (default 50) or for `letGo()`, answers `W ok`. `signal` is the admitted request's.
   */
  async work(query: Record<string, string | undefined>, signal: AbortSignal): Promise<string> {
    const who = query.who ?? '';
    signal.addEventListener('abort', () => this.aborted.push(who));
    this.ran.push(who);
    this.peak = Math.max(this.peak, ++this.inFlight);
    try {
      if (query.hold !== undefined) await this.hold;
      else await new Promise((r) => setTimeout(r, Number(query.ms ?? 50)));
    } finally {
      this.inFlight--;
    }
    return `${who} ok`;
  }
}

/** A server of one framework: `GET /work` behind `concurrency({ limit })` (timeout ≥ 5 s). */
export type ServeWork = (
  limit: RedisSemaphore,
  seen: WorkSeen,
) => Promise<{ url: string; close(): Promise<void> }>;

/** A request whose client can hang up (`leave()`); `done` settles either way. */
function request(url: string) {
  const client = new AbortController();
  const done = fetch(url, { signal: client.signal }).then(
    async (r) => ({ status: r.status, body: await r.text() }),
    () => ({ status: 0, body: 'left' }),
  );
  return { done, leave: () => client.abort() };
}

export function httpSemaphoreSuite(framework: string, serve: ServeWork): void {
  describe(framework, () => suite(framework, serve));
}

function suite(framework: string, serve: ServeWork): void {
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

  /** Fleet-wide, as Redis sees it: nothing held, nothing waiting, no queue entry left. */
  async function drained(name: string, sem: RedisSemaphore): Promise<boolean> {
    const { inUse, waiting } = await sem.stats();
    const queued = await redis.admin.zcard(`sluice:{${name}}:queue`);
    const held = await redis.admin.zcard(`sluice:{${name}}:holders`);
    return inUse === 0 && waiting === 0 && queued === 0 && held === 0;
  }

  describe.each(clientLibraries)('over a RedisSemaphore ($library)', (library) => {
    /** One "process": its own store and semaphore, and a server of the framework. */
    async function instance(name: string, seen: WorkSeen) {
      const store = new RedisStore({ client: library.create(redis.url), commandTimeout: 200 });
      const sem = new RedisSemaphore(store, { name, capacity: 2 });
      const server = await serve(sem, seen);
      cleanups.push(async () => {
        await server.close();
        await store.close();
      });
      return { url: server.url, sem };
    }

    /** Two instances sharing one limit of 2. */
    async function pair() {
      const name = `${framework.replace(/\W/g, '')}${++names}`;
      const seen = new WorkSeen();
      return { name, seen, a: await instance(name, seen), b: await instance(name, seen) };
    }

    it('two servers share one limit of 2: a burst of 8 spread across them runs at most 2 at once', async () => {
      const { name, seen, a, b } = await pair();
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
      const { name, seen, a, b } = await pair();
      // Fill the fleet's limit with one holder on each server.
      const holders = [
        request(`${a.url}/work?hold&who=holder-a`),
        request(`${b.url}/work?hold&who=holder-b`),
      ];
      expect(await eventually(async () => (await a.sem.stats()).inUse === 2, 3000)).toBe(true);

      // Queue two, one on each server; the one on `a` hangs up.
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

    it("a client that leaves in flight aborts the handler's signal; its permit goes back", async () => {
      const { name, seen, a, b } = await pair();
      const gone = request(`${a.url}/work?hold&who=gone`);
      expect(await eventually(async () => (await b.sem.stats()).inUse === 1, 3000)).toBe(true);
      gone.leave();
      await gone.done;
      expect(await eventually(() => seen.aborted.includes('gone'), 3000)).toBe(true);
      seen.letGo();
      expect(await eventually(() => drained(name, b.sem), 3000)).toBe(true);
      // Both permits free again, for either server.
      const after = await Promise.all([
        request(`${a.url}/work?who=x`).done,
        request(`${b.url}/work?who=y`).done,
      ]);
      expect(after.map((r) => r.status)).toEqual([200, 200]);
    });

    it('Redis paused: 503 unavailable with Retry-After, never 429; back by itself', async () => {
      const { name, seen, a } = await pair();
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
  });
}
