import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RedisKeyedTokenBucket, RedisStore } from '@sluice/redis';
import { createClient } from 'redis';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 3000);
// With REDIS_URL, /api/hello's limit is shared by every instance on that Redis (pnpm demo:fleet).
const store = process.env.REDIS_URL
  ? new RedisStore({ client: createClient({ url: process.env.REDIS_URL }) })
  : undefined;
const hello =
  store && new RedisKeyedTokenBucket(store, { name: 'hello', capacity: 5, refillPerSecond: 1 });
const server = http.createServer(createApp({ hello }));

server.on('error', (error) => {
  console.error(error);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${(server.address() as AddressInfo).port}`);
});

function shutdown(): void {
  server.close(); // finish what is in flight, accept nothing new
  server.closeIdleConnections();
  void store?.close();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
