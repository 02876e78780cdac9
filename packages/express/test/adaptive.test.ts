import { AdaptiveSemaphore, aimd, type Limiter, TimeoutError } from '@sluice/core';
import { AdaptiveLimiter } from '@sluice/test-limiters';
import type { NextFunction, Request, Response } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { concurrency, type RequestOutcome } from '../src/index.js';
import {
  deferred,
  type ExpressFactory,
  frameworks,
  listen,
  openRequest,
  type Running,
  request,
} from './helpers.js';

/** Routes that end in each way an adaptive limit tells apart, all behind one `concurrency()`. */
function app(express: ExpressFactory, limiter: Limiter, extra = {}) {
  const gate = deferred();
  const app = express();
  app.use(concurrency({ limit: limiter, ...extra }));
  app.get('/status/:code', (req, res) => {
    res.status(Number(req.params.code)).send('answer');
  });
  app.get('/timeout', () => {
    throw new TimeoutError(50);
  });
  app.get('/boom', () => {
    throw new Error('boom');
  });
  app.get('/hold', async (_req, res) => {
    await gate.promise;
    res.send('late');
  });
  // The usual Express way to answer a TimeoutError: 504 Gateway Timeout.
  app.use((error: Error & { code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(error.code === 'TIMEOUT' ? 504 : 500).send(error.message);
  });
  return { app, gate };
}

describe.each(frameworks)('concurrency() with an adaptive limit on %s', (_label, express) => {
  let running: Running | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function endingOf(limiter: AdaptiveLimiter, path: string): Promise<string | undefined> {
    const before = limiter.endings.length;
    await request(running!.port, path);
    await vi.waitFor(() => expect(limiter.endings.length).toBe(before + 1));
    return limiter.endings.at(-1);
  }

  it('200 -> release; 503 and 504 -> drop; other errors -> release', async () => {
    const limiter = new AdaptiveLimiter(2);
    running = await listen(app(express, limiter).app);
    expect(await endingOf(limiter, '/status/200')).toBe('release');
    expect(await endingOf(limiter, '/status/503')).toBe('drop');
    expect(await endingOf(limiter, '/status/504')).toBe('drop');
    expect(await endingOf(limiter, '/status/429')).toBe('release');
    expect(await endingOf(limiter, '/boom')).toBe('release');
    expect(limiter.inUse).toBe(0);
  });

  it('a thrown TimeoutError, answered 504 by the error handler, is a drop', async () => {
    const limiter = new AdaptiveLimiter(2);
    running = await listen(app(express, limiter).app);
    expect(await endingOf(limiter, '/timeout')).toBe('drop');
  });

  it('a client that leaves before the response is finished -> ignore, at once', async () => {
    const limiter = new AdaptiveLimiter(2);
    const { app: server, gate } = app(express, limiter);
    running = await listen(server);
    const { req } = openRequest(running.port, '/hold');
    await vi.waitFor(() => expect(limiter.inUse).toBe(1));
    req.destroy();
    await vi.waitFor(() => expect(limiter.endings).toEqual(['ignore']));
    expect(limiter.inUse).toBe(0);
    gate.resolve();
  });

  it('classify overrides, seeing the status and whether the client left', async () => {
    const limiter = new AdaptiveLimiter(2);
    const outcomes: RequestOutcome[] = [];
    const classify = (outcome: RequestOutcome) => {
      outcomes.push(outcome);
      return outcome.status === 429 ? 'drop' : outcome.status === 503 ? 'ignore' : 'success';
    };
    running = await listen(app(express, limiter, { classify }).app);
    expect(await endingOf(limiter, '/status/429')).toBe('drop');
    expect(await endingOf(limiter, '/status/503')).toBe('ignore');
    expect(await endingOf(limiter, '/status/200')).toBe('release');
    expect(outcomes).toEqual([
      { status: 429, clientLeft: false },
      { status: 503, clientLeft: false },
      { status: 200, clientLeft: false },
    ]);
  });

  it("with core's AdaptiveSemaphore (aimd): a 503 backs the limit off, successes grow it", async () => {
    const limiter = new AdaptiveSemaphore({
      algorithm: aimd(),
      initialLimit: 8,
      maxLimit: 20,
    });
    const limits: number[] = [];
    limiter.subscribe((event) => {
      if (event.type === 'limit') limits.push(event.limit);
    });
    running = await listen(app(express, limiter).app);
    // aimd backs off from the in-flight the failed request ran at (1), not from the limit.
    await request(running.port, '/status/503');
    await vi.waitFor(() => expect(limiter.limit).toBe(1));
    await request(running.port, '/status/200');
    await vi.waitFor(() => expect(limiter.limit).toBe(2));
    expect(limits).toEqual([1, 2]);
    expect(limiter.inUse).toBe(0);
  });
});
