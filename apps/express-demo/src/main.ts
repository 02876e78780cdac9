import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeDashboards } from '@sluice/demo-dashboard';
import { createApp } from './app.js';
import { createJobScheduler } from './jobs.js';
import { gracefulShutdown } from './shutdown.js';

const port = Number(process.env.PORT ?? 3000);
const shutdownTimeout = Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 10_000);
const jobs = createJobScheduler();
const server = http.createServer(createApp({ jobs }));

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
  console.log(`stopped: ${JSON.stringify(jobs.stats())}`);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
