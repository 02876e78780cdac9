import { serve } from '@hono/node-server';
import { closeDashboards } from '@sluice/demo-dashboard';
import { RedisKeyedTokenBucket, RedisStore } from '@sluice/redis';
import { createClient } from 'redis';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
// With REDIS_URL, /api/hello's limit is shared by every instance on that Redis.
const store = process.env.REDIS_URL
  ? new RedisStore({ client: createClient({ url: process.env.REDIS_URL }) })
  : undefined;
const hello =
  store && new RedisKeyedTokenBucket(store, { name: 'hello', capacity: 5, refillPerSecond: 1 });
const server = serve({ fetch: createApp({ hello }).fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on ${info.port}`);
});

server.on('error', (error) => {
  console.error(error);
  process.exit(1);
});

function shutdown(): void {
  // Finish what is in flight, accept nothing new; then end the store's Redis connection, which
  // would otherwise keep the process alive.
  server.close(() => void store?.close());
  (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  closeDashboards(); // end the /stats/stream responses, which would otherwise never finish
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
