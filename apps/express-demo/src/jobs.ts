import { JobScheduler } from '@sluice/core';
import { rejection } from '@sluice/core/http';
import type { Express } from 'express';

/** Longest simulated background job a request may ask for. */
const MAX_JOB_MS = 60_000;

/** The demo's background-work limits: 2 jobs at once, 8 accepted and waiting. */
export function createJobScheduler(): JobScheduler {
  return new JobScheduler({
    limit: 2,
    pendingLimit: 8,
    onError: (error) => console.error('background job failed:', error),
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason); // stopping on the abort reason makes the job 'cancelled'
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}

/**
 * `POST /jobs?ms=N`: accepts N ms of simulated background work (default 1000) and answers 202
 * at once, without waiting for it. When the pending limit is reached it does not queue the
 * request (`timeout: 0`): it answers 503 problem+json (`queue_full`), or `closed` once the
 * scheduler is shutting down.
 */
export function mountJobs(app: Express, jobs: JobScheduler): void {
  let nextId = 1;
  app.post('/jobs', async (req, res, next) => {
    const asked = Number(req.query.ms ?? 1000);
    const ms = Number.isFinite(asked) ? Math.min(Math.max(0, asked), MAX_JOB_MS) : 1000;
    const id = nextId++;
    let job: Awaited<ReturnType<JobScheduler['spawn']>>;
    try {
      job = await jobs.spawn((signal) => sleep(ms, signal), { timeout: 0 });
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (code !== 'TIMEOUT' && code !== 'CLOSED') return next(error);
      const answer = rejection({
        reason: code === 'CLOSED' ? 'closed' : 'queue_full',
        retryAfterMs: 1000,
        detail:
          code === 'CLOSED'
            ? 'The server is shutting down and accepts no new background jobs.'
            : `Too many background jobs are waiting (${jobs.pendingLimit}); try again later.`,
      });
      res.status(answer.status).set(answer.headers).end(JSON.stringify(answer.body));
      return;
    }
    res
      .status(202)
      .json({ id, ms, status: job.status, active: jobs.active, pending: jobs.pending });
  });
}
