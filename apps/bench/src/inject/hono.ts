import { concurrency, rateLimit } from '@sluice/hono';
import { Hono, type MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import { queuedLimit } from './queued-limit.js';
import type { InjectApp, InjectVariant } from './types.js';

// Hono hello-world through `app.request()` (a web Request into app.fetch, no socket). There is
// no connection, so the rate limiters key on one constant: one key, as the other frameworks'
// rows have (one mock client address).

function app(
  middleware: MiddlewareHandler[],
  extra: Pick<InjectApp, 'check'> & { seen?: () => void } = {},
): InjectApp {
  const server = new Hono();
  for (const m of middleware) server.use('/', m);
  const seen = extra.seen;
  server.get('/', (c) => {
    seen?.();
    return c.text('hello');
  });
  return {
    request: async () => {
      const response = await server.request('/');
      await response.arrayBuffer();
      return response.status;
    },
    ...(extra.check ? { check: extra.check } : {}),
    close: async () => {},
  };
}

const oneKey = (): string => 'bench';

export const variants: InjectVariant[] = [
  { name: 'bare', kind: 'bare', start: async () => app([]) },
  {
    name: 'noop middleware',
    kind: 'noop',
    start: async () =>
      app([
        async function noop(_c, next) {
          await next();
        },
      ]),
  },
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
    name: 'sluice rateLimit',
    kind: 'rateLimit',
    start: async () => app([rateLimit({ capacity: 1e9, refillPerSecond: 1e9, key: oneKey })]),
  },
  {
    name: 'hono-rate-limiter',
    kind: 'peer',
    start: async () =>
      app([
        rateLimiter({
          windowMs: 60_000,
          limit: 1e9,
          standardHeaders: 'draft-7',
          keyGenerator: oneKey,
        }),
      ]),
  },
];
