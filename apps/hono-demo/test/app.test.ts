import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';

let server: ServerType;
let url: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: createApp().fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      url = `http://127.0.0.1:${(info as AddressInfo).port}`;
      resolve();
    });
  });
});

afterAll(async () => {
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('the demo HTTP contract', () => {
  it('GET /work?ms=N works N ms and reports its wait', async () => {
    const response = await fetch(`${url}/work?ms=20`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ms: 20, waitedMs: expect.any(Number) });
  });

  it('GET /work: 4 in flight, 8 waiting, the rest shed with 503 queue_full', async () => {
    const results = await Promise.all(
      Array.from({ length: 14 }, async () => {
        const r = await fetch(`${url}/work?ms=300`);
        const body = await r.json();
        return r.status === 200
          ? 'ok'
          : `${r.status} ${body.reason} ${r.headers.get('retry-after')}`;
      }),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(12);
    expect(results.filter((r) => r === '503 queue_full 1')).toHaveLength(2);
    const stats = await (await fetch(`${url}/stats`)).json();
    expect(stats.work).toMatchObject({ capacity: 4, maxInUse: 4, rejected: 2, waiting: 0 });
  });

  it('GET /work waits at most 1 s in the queue', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, async () => (await fetch(`${url}/work?ms=1500`)).status),
    );
    expect(results.sort()).toEqual([200, 200, 200, 200, 503]);
  });

  it('GET /api/hello: 5 per client, then 429 with Retry-After and RateLimit headers', async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await fetch(`${url}/api/hello`);
      statuses.push(last.status);
      if (i < 5) expect(await last.json()).toEqual({ hello: 'world', client: '127.0.0.1' });
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(last!.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(last!.headers.get('ratelimit-policy')).toBe('"rate-limit";q=5;w=5');
    expect((await last!.json()).reason).toBe('rate_limited');
  });

  it('GET /stats returns the /work limiter stats', async () => {
    const stats = await (await fetch(`${url}/stats`)).json();
    expect(Object.keys(stats.work).sort()).toEqual(
      [
        'acquired',
        'aborted',
        'available',
        'capacity',
        'inUse',
        'maxInUse',
        'rejected',
        'timedOut',
        'waiting',
      ].sort(),
    );
  });
});

describe('main.ts', () => {
  it('listens on PORT on loopback and prints exactly "listening on <port>"', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk) => {
          out += chunk;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      expect(line).toMatch(/^listening on \d+$/);
      const port = Number(line.slice('listening on '.length));
      const response = await fetch(`http://127.0.0.1:${port}/stats`);
      expect(response.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
