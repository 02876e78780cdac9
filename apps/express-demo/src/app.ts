import type { JobScheduler } from '@sluice/core';
import {
  concurrency,
  KeyedTokenBucket,
  type Limiter,
  type RateLimiter,
  rateLimit,
  Semaphore,
} from '@sluice/express';
import express, { type Express } from 'express';
import { dashboardRoutes } from './dashboard-routes.js';
import { createJobScheduler, mountJobs } from './jobs.js';

/** Longest simulated work a request may ask for. */
const MAX_WORK_MS = 10_000;

/** The `ms` query parameter, clamped to 0..MAX_WORK_MS; `fallback` when absent or not a number. */
function workMs(query: unknown, fallback: number): number {
  const asked = Number(query ?? fallback);
  return Number.isFinite(asked) ? Math.min(Math.max(0, asked), MAX_WORK_MS) : fallback;
}

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
 * - `POST /jobs?ms=N`: background work on a JobScheduler (see jobs.ts); its stats under `jobs`.
 * - `GET /dashboard`, `GET /stats/stream`, `GET /metrics`: watching it (see dashboard-routes.ts).
 *
 * `hello`: the /api/hello limiter; default in memory. main.ts passes a RedisKeyedTokenBucket of
 * the same settings when REDIS_URL is set, so several instances share one limit.
 *
 * `fleetWork`: only with REDIS_URL (main.ts passes a RedisSemaphore), and only in this demo
 * (`pnpm demo:fleet`): `GET /fleet/work?ms=N`, N ms of work (default 300) of which at most the
 * semaphore's capacity run at once across every instance sharing the Redis. It answers
 * `{ ms, waitedMs, startedAt, endedAt, pid }` (epoch ms) so that a client can check the overlap.
 */
export function createApp(
  options: { jobs?: JobScheduler; hello?: RateLimiter<string>; fleetWork?: Limiter } = {},
): Express {
  const app = express();
  // One Semaphore instance, so /stats reads the very limiter that /work admits through.
  const work = new Semaphore(4, { maxWaiting: 8 });
  const jobs = options.jobs ?? createJobScheduler();
  mountJobs(app, jobs);

  app.get('/work', concurrency({ limit: work, timeout: 1000 }), async (req, res) => {
    const ms = workMs(req.query.ms, 100);
    const { signal, waitedMs } = req.sluice!;
    await sleep(ms, signal); // a client that leaves stops the work early
    if (signal.aborted) return;
    res.json({ ms, waitedMs: Math.round(waitedMs) });
  });

  if (options.fleetWork !== undefined) {
    app.get(
      '/fleet/work',
      concurrency({ limit: options.fleetWork, timeout: 5000 }),
      async (req, res) => {
        const ms = workMs(req.query.ms, 300);
        const { signal, waitedMs } = req.sluice!;
        const startedAt = Date.now();
        await sleep(ms, signal);
        if (signal.aborted) return;
        const endedAt = Date.now();
        res.json({ ms, waitedMs: Math.round(waitedMs), startedAt, endedAt, pid: process.pid });
      },
    );
  }

  const hello = options.hello ?? new KeyedTokenBucket({ capacity: 5, refillPerSecond: 1 });
  app.get('/api/hello', rateLimit({ limiter: hello }), (req, res) => {
    res.json({ hello: 'world', client: req.ip });
  });

  app.get('/stats', (_req, res) => {
    res.json({ work: work.stats(), jobs: jobs.stats() });
  });

  app.use(dashboardRoutes({ work }));

  return app;
}
