// The Express adapter with a RedisSemaphore as `limit`: two apps (two stores, as two processes
// would have) share one limit; real loopback servers, real HTTP clients, a real redis-server.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { concurrency } from '@sluice/express';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisSemaphore, RedisStore } from '../src/index.js';
import { clientLibraries, eventually, startRedis, type TestRedis } from './redis-server.js';

let redis: TestRedis;
const cleanups: Array<() => Promise<void>> = [];
let names = 0;

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  redis.resume();
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
afterAll(async () => {
  await redis?.stop();
});

function get(
  port: number,
  path: string,
): { done: Promise<{ status: number; body: string }>; req: http.ClientRequest } {
  const req = http.request({ host: '127.0.0.1', port, path, agent: false });
  const done = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
  req.end();
  return { done, req };
}

describe.each(clientLibraries)(
  'concurrency({ limit: RedisSemaphore }) over $library',
  (library) => {
    /** One "process": its own store, limiter, app and server. */
    async function instance(name: string, stats: { inFlight: number; peak: number }) {
      const store = new RedisStore({ client: library.create(redis.url), commandTimeout: 200 });
      const sem = new RedisSemaphore(store, { name, capacity: 2 });
      const app = express();
      app.get('/work', concurrency({ limit: sem, timeout: 3000 }), async (req, res) => {
        stats.inFlight++;
        stats.peak = Math.max(stats.peak, stats.inFlight);
        await new Promise((r) => setTimeout(r, Number(req.query.ms ?? 50)));
        stats.inFlight--;
        res.send(req.sluice?.signal.aborted ? 'lost' : 'ok');
      });
      const server = http.createServer(app).listen(0, '127.0.0.1');
      await once(server, 'listening');
      cleanups.push(async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await store.close();
      });
      return { port: (server.address() as AddressInfo).port, sem };
    }

    it('two servers share one limit of 2; a queued client that leaves is removed from Redis; Redis down is 503 unavailable', async () => {
      const name = `express${++names}`;
      const stats = { inFlight: 0, peak: 0 };
      const a = await instance(name, stats);
      const b = await instance(name, stats);
      const replies = await Promise.all(
        Array.from({ length: 8 }, (_, i) => get(i % 2 ? a.port : b.port, '/work?ms=60').done),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(replies.every((r) => r.body === 'ok')).toBe(true);
      expect(stats.peak).toBe(2);

      // Fill the limit, queue one client, and have it hang up: its waiter leaves Redis's queue.
      const long = [get(a.port, '/work?ms=600'), get(b.port, '/work?ms=600')];
      expect(await eventually(async () => (await a.sem.stats()).inUse === 2, 3000)).toBe(true);
      const leaving = get(a.port, '/work');
      leaving.done.catch(() => {});
      expect(await eventually(async () => (await a.sem.stats()).waiting === 1, 3000)).toBe(true);
      leaving.req.destroy();
      expect(await eventually(async () => (await a.sem.stats()).waiting === 0, 3000)).toBe(true);
      for (const r of long) expect((await r.done).status).toBe(200);
      expect(await eventually(async () => (await a.sem.stats()).inUse === 0, 3000)).toBe(true);

      // Redis paused: the adapter answers 503 with reason "unavailable", never 429.
      redis.pause();
      const down = await get(b.port, '/work').done;
      redis.resume();
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toMatchObject({ reason: 'unavailable', status: 503 });
    });
  },
);
