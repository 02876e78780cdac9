// @sluice/hono's concurrency() with a RedisSemaphore as `limit`, on @hono/node-server: the
// shared suite (two servers share one limit, clients that hang up leak nothing, 503
// `unavailable` while Redis is paused), over both clients.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { concurrency } from '@sluice/hono';
import { Hono } from 'hono';
import { httpSemaphoreSuite } from '../../../packages/redis/test/http-semaphore-suite.js';

httpSemaphoreSuite('concurrency({ limit }) on @hono/node-server', async (limit, seen) => {
  const app = new Hono();
  app.get('/work', concurrency({ limit, timeout: 5000 }), async (c) =>
    c.text(await seen.work(c.req.query(), c.var.sluice.signal)),
  );
  const server: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
});
