import { getConnInfo } from '@hono/node-server/conninfo';
import {
  concurrency,
  KeyedTokenBucket,
  type RateLimiter,
  rateLimit,
  Semaphore,
} from '@sluice/hono';
import { Hono } from 'hono';
import { dashboardRoutes } from './dashboard-routes.js';

/** Longest simulated work a request may ask for. */
const MAX_WORK_MS = 10_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The demo HTTP contract (the same in every framework's demo):
 * - `GET /work?ms=N`: N ms of simulated work (default 100), at most 4 at once, 8 waiting, 1 s wait.
 * - `GET /api/hello`: 5 requests per client in a burst, then 1 per second.
 * - `GET /stats`: `{ work: <the /work Semaphore's stats()> }`.
 * - `GET /dashboard`, `GET /stats/stream`, `GET /metrics`: watching it (see dashboard-routes.ts).
 *
 * Serve it with @hono/node-server (see main.ts): the rate limit keys on the socket address.
 *
 * `hello`: the /api/hello limiter; default in memory. main.ts passes a RedisKeyedTokenBucket of
 * the same settings when REDIS_URL is set, so several instances share one limit.
 */
export function createApp(options: { hello?: RateLimiter<string> } = {}): Hono {
  const app = new Hono();
  // One Semaphore instance, so /stats reads the very limiter that /work admits through.
  const work = new Semaphore(4, { maxWaiting: 8 });

  app.get('/work', concurrency({ limit: work, timeout: 1000 }), async (c) => {
    const asked = Number(c.req.query('ms') ?? 100);
    const ms = Number.isFinite(asked) ? Math.min(Math.max(0, asked), MAX_WORK_MS) : 100;
    const { signal, waitedMs } = c.var.sluice;
    await sleep(ms, signal); // a client that leaves stops the work early
    return c.json({ ms, waitedMs: Math.round(waitedMs) });
  });

  const hello = options.hello ?? new KeyedTokenBucket({ capacity: 5, refillPerSecond: 1 });
  app.get('/api/hello', rateLimit({ limiter: hello }), (c) =>
    c.json({ hello: 'world', client: getConnInfo(c).remote.address }),
  );

  app.get('/stats', (c) => c.json({ work: work.stats() }));

  app.route('/', dashboardRoutes({ work }));

  return app;
}
