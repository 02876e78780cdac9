// The demo with /api/hello's limit in Redis (what REDIS_URL turns on): the shared suite over
// both clients, the same 429s as in memory, and 503 `unavailable` with Retry-After when Redis
// stops answering.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpRateLimitSuite } from '../../../packages/redis/test/http-rate-limit-suite.js';
import { createApp } from '../src/app.js';

httpRateLimitSuite('express demo', '/api/hello', async (hello) => {
  const server = http.createServer(createApp({ hello })).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
});
