import { concurrency, rateLimit } from '@sluice/express';
import express, { type RequestHandler } from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import inject from 'light-my-request';
import { queuedLimit } from './queued-limit.js';
import type { InjectApp, InjectVariant } from './types.js';

// Express hello-world through light-my-request (a mock req/res, no socket), with and without
// something in front. No limiter ever refuses here: the rows measure what saying yes costs.

function app(
  middleware: RequestHandler[],
  extra: Pick<InjectApp, 'check'> & { seen?: () => void } = {},
): InjectApp {
  const server = express();
  server.disable('x-powered-by');
  const seen = extra.seen;
  server.get('/', ...middleware, (_req, res) => {
    seen?.();
    res.type('text/plain').send('hello');
  });
  const options = { method: 'GET', url: '/', remoteAddress: '127.0.0.1' } as const;
  return {
    request: async () => (await inject(server, options)).statusCode,
    ...(extra.check ? { check: extra.check } : {}),
    close: async () => {},
  };
}

const noop: RequestHandler = function noop(_req, _res, next) {
  next();
};

export const variants: InjectVariant[] = [
  { name: 'bare', kind: 'bare', start: async () => app([]) },
  { name: 'noop middleware', kind: 'noop', start: async () => app([noop]) },
  {
    name: 'sluice concurrency',
    kind: 'concurrency',
    start: async () => app([concurrency({ limit: 10_000 })]),
  },
  {
    name: 'sluice concurrency, limit 10 (queued)',
    kind: 'queued',
    start: async () => {
      const q = queuedLimit();
      return app([concurrency({ limit: q.sem, timeout: 60_000 })], q);
    },
  },
  {
    // One key (the mock client's address); sends its RateLimit headers (the default).
    name: 'sluice rateLimit',
    kind: 'rateLimit',
    start: async () => app([rateLimit({ capacity: 1e9, refillPerSecond: 1e9 })]),
  },
  {
    name: 'express-rate-limit',
    kind: 'peer',
    start: async () =>
      app([
        expressRateLimit({
          windowMs: 60_000,
          limit: 1e9,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
        }),
      ]),
  },
];
