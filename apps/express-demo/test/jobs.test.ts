import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { JobScheduler } from '@sluice/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { gracefulShutdown } from '../src/shutdown.js';

const servers: http.Server[] = [];

async function start(jobs: JobScheduler) {
  const server = http.createServer(createApp({ jobs })).listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function post(base: string, path: string) {
  const response = await fetch(`${base}${path}`, { method: 'POST' });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

describe('express demo: POST /jobs on a JobScheduler', () => {
  it('answers 202 at once while the pending limit allows, then 503 problem+json queue_full', async () => {
    const jobs = new JobScheduler({ limit: 2, pendingLimit: 8 });
    const { base } = await start(jobs);
    const replies = [];
    // One at a time, so which requests are refused is deterministic.
    for (let i = 0; i < 12; i++) replies.push(await post(base, '/jobs?ms=5000'));
    expect(replies.map((r) => r.status)).toEqual([...Array(10).fill(202), 503, 503]);
    expect(replies[0]!.body).toMatchObject({ id: 1, ms: 5000, status: 'active' });
    expect(replies[2]!.body).toMatchObject({ id: 3, status: 'pending' });
    const refused = replies[10]!;
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body).toMatchObject({ status: 503, reason: 'queue_full' });

    const stats = await (await fetch(`${base}/stats`)).json();
    expect(Object.keys(stats)).toEqual(expect.arrayContaining(['work', 'jobs']));
    expect(stats.jobs).toMatchObject({ limit: 2, pendingLimit: 8, active: 2, pending: 8 });
    await jobs.close({ timeout: 0 });
  });

  it('clamps ms and answers 503 closed once the scheduler is closing', async () => {
    const jobs = new JobScheduler({ limit: 1 });
    const { base } = await start(jobs);
    expect((await post(base, '/jobs?ms=-4')).body).toMatchObject({ ms: 0 });
    await jobs.close();
    const closed = await post(base, '/jobs');
    expect(closed.status).toBe(503);
    expect(closed.body).toMatchObject({ reason: 'closed' });
  });

  it('gracefulShutdown: stops accepting connections, lets jobs finish, resolves when all settled', async () => {
    const jobs = new JobScheduler({ limit: 2, pendingLimit: 8 });
    const { server, base } = await start(jobs);
    for (let i = 0; i < 3; i++) expect((await post(base, '/jobs?ms=150')).status).toBe(202);
    const stopping = gracefulShutdown({ server, jobs, timeout: 5000 });
    await expect(fetch(`${base}/stats`)).rejects.toThrow();
    await stopping;
    expect(jobs.stats()).toMatchObject({ fulfilled: 3, cancelled: 0, active: 0, pending: 0 });
  });

  it('gracefulShutdown: jobs still running at the timeout are aborted (status cancelled)', async () => {
    const jobs = new JobScheduler({ limit: 1, pendingLimit: 8 });
    const { server, base } = await start(jobs);
    await post(base, '/jobs?ms=30000');
    await post(base, '/jobs?ms=30000');
    await gracefulShutdown({ server, jobs, timeout: 100 });
    expect(jobs.stats()).toMatchObject({ cancelled: 2, fulfilled: 0, active: 0 });
  });
});

// The built server (as `pnpm --filter @sluice/express-demo start` runs it) under SIGTERM.
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));

describe('dist/main.js: graceful shutdown on SIGTERM', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  it('finishes the jobs that fit in SHUTDOWN_TIMEOUT_MS, aborts the rest and exits 0', async () => {
    expect(existsSync(main), `${main} is missing: build the demo first`).toBe(true);
    child = spawn(process.execPath, [main], {
      env: { ...process.env, PORT: '0', SHUTDOWN_TIMEOUT_MS: '500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.setEncoding('utf8');
    const port = await new Promise<number>((resolve, reject) => {
      child!.stdout!.on('data', (chunk: string) => {
        stdout += chunk;
        const match = /listening on (\d+)/.exec(stdout);
        if (match) resolve(Number(match[1]));
      });
      child!.once('exit', () => reject(new Error(`exited early: ${stdout}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    expect((await post(base, '/jobs?ms=100')).status).toBe(202);
    expect((await post(base, '/jobs?ms=100')).status).toBe(202);
    expect((await post(base, '/jobs?ms=30000')).status).toBe(202);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stdout).toContain('SIGTERM: shutting down');
    const stats = JSON.parse(/stopped: (.*)/.exec(stdout)![1]!);
    expect(stats).toMatchObject({ spawned: 3, fulfilled: 2, cancelled: 1, active: 0 });
  });
});
