// The Express adapter with a RedisSemaphore as `limit`: the shared suite (two servers share one
// limit, clients that hang up leak nothing, 503 `unavailable` while Redis is paused), over both
// clients; real loopback servers, real HTTP clients, a real redis-server.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { concurrency } from '@sluice/express';
import express from 'express';
import { httpSemaphoreSuite } from './http-semaphore-suite.js';

httpSemaphoreSuite('concurrency({ limit }) of @sluice/express', async (limit, seen) => {
  const app = express();
  app.get('/work', concurrency({ limit, timeout: 5000 }), async (req, res) => {
    res.send(await seen.work(req.query as Record<string, string>, req.sluice!.signal));
  });
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
});
