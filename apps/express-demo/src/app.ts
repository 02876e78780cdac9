import type { JobScheduler } from '@sluice/core';
import {
  concurrency,
  KeyedTokenBucket,
  type RateLimiter,
  rateLimit,
  Semaphore,
} from '@sluice/express';
import express, { type Express } from 'express';
import { dashboardRoutes } from './dashboard-routes.js';
import { createJobScheduler, mountJobs } from './jobs.js';

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
 * - `POST /jobs?ms=N`: background work on a JobScheduler (see jobs.ts); its stats under `jobs`.
 * - `GET /dashboard`, `GET /stats/stream`, `GET /metrics`: watching it (see dashboard-routes.ts).
 *
 * `hello`: the /api/hello limiter; default in memory. main.ts passes a RedisKeyedTokenBucket of
 * the same settings when REDIS_URL is set, so several instances share one limit.
 */
export function createApp(
  options: { jobs?: JobScheduler; hello?: RateLimiter<string> } = {},
): Express {
  const app = express();
  // One Semaphore instance, so /stats reads the very limiter that /work admits through.
  const work = new Semaphore(4, { maxWaiting: 8 });
  const jobs = options.jobs ?? createJobScheduler();
  mountJobs(app, jobs);

  app.get('/work', concurrency({ limit: work, timeout: 1000 }), async (req, res) => {
    const asked = Number(req.query.ms ?? 100);
    const ms = Number.isFinite(asked) ? Math.min(Math.max(0, asked), MAX_WORK_MS) : 100;
    const { signal, waitedMs } = req.sluice!;
    await sleep(ms, signal); // a client that leaves stops the work early
    if (signal.aborted) return;
    res.json({ ms, waitedMs: Math.round(waitedMs) });
  });

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
