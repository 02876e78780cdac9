import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { concurrency, rateLimit } from '@sluice/express';
import express, { type RequestHandler } from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import type { HttpVariant } from './types.js';

// Express hello-world with and without a limiter in front. No limiter ever refuses here: the
// rows measure what admission costs when it says yes.

function serve(...middleware: RequestHandler[]): HttpVariant['start'] {
  return () =>
    new Promise((resolve, reject) => {
      const app = express();
      app.disable('x-powered-by');
      app.get('/', ...middleware, (_req, res) => {
        res.type('text/plain').send('hello');
      });
      const server: Server = app.listen(0, '127.0.0.1');
      server.once('error', reject);
      server.once('listening', () => {
        resolve({
          port: (server.address() as AddressInfo).port,
          close: () =>
            new Promise<void>((done) => {
              server.closeAllConnections();
              server.close(() => done());
            }),
        });
      });
    });
}

export const variants: HttpVariant[] = [
  { name: 'bare', start: serve() },
  {
    name: 'sluice concurrency',
    start: () => serve(concurrency({ limit: 10_000 }))(),
  },
  {
    // Sends its RateLimit headers (the default), like the peer row below.
    name: 'sluice rateLimit',
    start: () => serve(rateLimit({ capacity: 1e9, refillPerSecond: 1e9 }))(),
  },
  {
    name: 'express-rate-limit',
    start: () =>
      serve(
        expressRateLimit({
          windowMs: 60_000,
          limit: 1e9,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
        }),
      )(),
  },
];
