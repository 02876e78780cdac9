import type http from 'node:http';
import type { JobScheduler } from '@sluice/core';

export interface ShutdownOptions {
  server: http.Server;
  jobs: JobScheduler;
  /** How long background jobs get to finish before their signals abort, in ms. */
  timeout: number;
}

/**
 * Graceful shutdown (docs/graceful-shutdown.md): stop accepting connections, let in-flight
 * requests finish, give background jobs `timeout` ms, abort those left, and resolve once
 * everything has settled.
 */
export async function gracefulShutdown({ server, jobs, timeout }: ShutdownOptions): Promise<void> {
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections(); // keep-alive sockets with no request in flight
  await Promise.all([serverClosed, jobs.close({ timeout })]);
}
