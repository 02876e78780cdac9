import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeDashboards } from '@sluice/demo-dashboard';
import { RedisKeyedTokenBucket, RedisSemaphore, RedisStore } from '@sluice/redis';
import { createClient } from 'redis';
import { createApp } from './app.js';
import { createJobScheduler } from './jobs.js';
import { gracefulShutdown } from './shutdown.js';

const port = Number(process.env.PORT ?? 3000);
const shutdownTimeout = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 10_000);
const jobs = createJobScheduler();
// With REDIS_URL, /api/hello's limit is shared by every instance on that Redis (pnpm demo:fleet).
const store = process.env.REDIS_URL
  ? new RedisStore({ client: createClient({ url: process.env.REDIS_URL }) })
  : undefined;
const hello =
  store && new RedisKeyedTokenBucket(store, { name: 'hello', capacity: 5, refillPerSecond: 1 });
// And /fleet/work runs at most 3 at once across every instance (a fragile downstream's limit).
const fleetWork = store && new RedisSemaphore(store, { name: 'fleet-work', capacity: 3 });
const server = http.createServer(createApp({ jobs, hello, fleetWork }));

server.on('error', (error) => {
  console.error(error);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${(server.address() as AddressInfo).port}`);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down (background jobs get ${shutdownTimeout} ms)`);
  // A job that ignores its abort signal must not keep the process alive forever.
  setTimeout(() => {
    console.error('shutdown took too long: exiting anyway');
    process.exit(1);
  }, shutdownTimeout + 5000).unref();
  closeDashboards(); // end the /stats/stream responses, which would otherwise never finish
  await gracefulShutdown({ server, jobs, timeout: shutdownTimeout });
  await store?.close();
  console.log(`stopped: ${JSON.stringify(jobs.stats())}`);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
