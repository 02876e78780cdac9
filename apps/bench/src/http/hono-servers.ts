import type { AddressInfo } from 'node:net';
import { serve as serveNode } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { concurrency, rateLimit } from '@sluice/hono';
import { Hono, type MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import type { HttpVariant } from './types.js';

// Hono hello-world on @hono/node-server with and without a limiter in front. No limiter ever
// refuses here: the rows measure what admission costs when it says yes.
//
// `noop middleware` is the price of any middleware at all: a route with one handler takes
// Hono's synchronous fast path (and @hono/node-server's cached-response path), a route with two
// goes through compose and a promise. The limiter rows are best read against it.

function serve(...middleware: MiddlewareHandler[]): HttpVariant['start'] {
  return () =>
    new Promise((resolve, reject) => {
      const app = new Hono();
      for (const limiter of middleware) app.use('/', limiter);
      app.get('/', (c) => c.text('hello'));
      const server = serveNode({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
        resolve({
          port: (info as AddressInfo).port,
          close: () =>
            new Promise<void>((done) => {
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
              server.close(() => done());
            }),
        });
      });
      server.once('error', reject);
    });
}

export const variants: HttpVariant[] = [
  { name: 'bare', start: serve() },
  {
    name: 'noop middleware',
    start: () =>
      serve(async (_c, next) => {
        await next();
      })(),
  },
  {
    name: 'sluice concurrency',
    start: () => serve(concurrency({ limit: 10_000 }))(),
  },
  {
    // Sends its RateLimit headers (the default) and keys on the socket address, like the peer.
    name: 'sluice rateLimit',
    start: () => serve(rateLimit({ capacity: 1e9, refillPerSecond: 1e9 }))(),
  },
  {
    name: 'hono-rate-limiter',
    start: () =>
      serve(
        rateLimiter({
          windowMs: 60_000,
          limit: 1e9,
          standardHeaders: 'draft-7',
          keyGenerator: (c) => getConnInfo(c).remote.address ?? 'unknown',
        }),
      )(),
  },
];
