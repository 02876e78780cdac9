import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { QueueFullError, Semaphore } from '@sluice/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeDashboards, Dashboard } from './dashboard.js';
import { originOf, sendReply, sendStream } from './node.js';

// A plain node:http server wired the way the Express and Nest demos wire the dashboard.
let server: http.Server;
let base: string;
const work = new Semaphore(2, { maxWaiting: 2 });
const dashboard = new Dashboard({ limiters: { work }, intervalMs: 20, burstRequests: 8 });

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url!, 'http://localhost');
  if (url.pathname === '/work') {
    try {
      const permit = await work.acquire({ timeout: 150 });
      setTimeout(
        () => {
          permit.release();
          res.end('{}');
        },
        Math.min(200, Number(url.searchParams.get('ms'))),
      ); // quick, whatever the burst asks
    } catch (error) {
      const reason = error instanceof QueueFullError ? 'queue_full' : 'queue_timeout';
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ reason }));
    }
  } else if (url.pathname === '/stats/stream') {
    sendStream(res, dashboard.stream());
  } else if (url.pathname === '/dashboard/burst' && req.method === 'POST') {
    sendReply(res, await dashboard.burst(originOf(req), Object.fromEntries(url.searchParams)));
  } else if (url.pathname.startsWith('/dashboard')) {
    sendReply(res, dashboard.page(url.pathname.slice('/dashboard/'.length)));
  }
}

beforeAll(async () => {
  server = http.createServer((req, res) => void handle(req, res)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function readFrames(body: NonNullable<Response['body']>, count: number) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (text.split('data: ').length - 1 < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  return { text, reader };
}

describe('Dashboard.page', () => {
  it('serves the page with its settings, its script and uPlot from the installed package', async () => {
    const page = await fetch(`${base}/dashboard`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    const config = JSON.parse(/<script id="sluice-config"[^>]*>(.*?)<\/script>/s.exec(html)![1]!);
    expect(config).toEqual({
      burst: { route: '/work', requests: 8, ms: 600, endpoint: '/dashboard/burst' },
      reasons: ['queue_full', 'queue_timeout', 'aborted', 'closed', 'rate_limited', 'unavailable'],
      streamPath: '/stats/stream',
      statsPath: '/stats',
    });
    const uplot = await fetch(`${base}/dashboard/uplot.js`);
    expect(uplot.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const installed = createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js');
    expect(await uplot.text()).toBe(readFileSync(installed, 'utf8'));
    for (const file of ['dashboard.js', 'dashboard.css', 'uplot.css']) {
      expect((await fetch(`${base}/dashboard/${file}`)).status).toBe(200);
    }
    expect((await fetch(`${base}/dashboard/nope.js`)).status).toBe(404);
    expect(dashboard.page('../package.json').status).toBe(404);
  });

  it('escapes `<` in the settings it writes into the page', () => {
    const other = new Dashboard({ limiters: { work }, burstRoute: '/</script><b>' });
    expect(other.page().body).toContain('"/\\u003c/script>\\u003cb>"');
    other.close();
  });

  it('refuses bad options with messages that name them', () => {
    expect(() => new Dashboard({ limiters: { work }, burstRoute: 'work' })).toThrow(
      /`burstRoute` to be a path starting with \/, got work/,
    );
    expect(() => new Dashboard({ limiters: { work }, burstRequests: 0 })).toThrow(
      /`burstRequests` to be a positive integer, got 0/,
    );
  });
});

describe('Dashboard.burst', () => {
  it('fires the burst at the limited route from the server and counts how each ended', async () => {
    const response = await fetch(`${base}/dashboard/burst?requests=7&ms=200`, { method: 'POST' });
    expect(await response.json()).toEqual({
      url: '/work?ms=200',
      requests: 7,
      outcomes: { ok: 2, queue_timeout: 2, queue_full: 3 },
    });
  });

  it('clamps what it is asked, and falls back to its defaults for non-numbers', async () => {
    const reply = await dashboard.burst(base, { requests: 'many', ms: '-5' });
    expect(JSON.parse(reply.body)).toMatchObject({ url: '/work?ms=0', requests: 8 });
    const capped = await dashboard.burst(base, { requests: '0', ms: '99999999' });
    expect(JSON.parse(capped.body)).toMatchObject({ url: '/work?ms=10000', requests: 1 });
  }, 30_000);
});

describe('sendStream and closeDashboards', () => {
  it('stops taking snapshots once the client leaves', async () => {
    const snapshot = vi.spyOn(dashboard.collector, 'snapshot');
    const leave = new AbortController();
    const response = await fetch(`${base}/stats/stream`, { signal: leave.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    const { text } = await readFrames(response.body!, 3);
    expect(JSON.parse(text.split('data: ')[1]!).limiters.work).toMatchObject({ capacity: 2 });
    leave.abort();
    await vi.waitFor(() => {
      const calls = snapshot.mock.calls.length;
      return new Promise<void>((resolve, reject) =>
        setTimeout(() => (snapshot.mock.calls.length === calls ? resolve() : reject()), 100),
      );
    });
    snapshot.mockRestore();
  });

  it('closeDashboards() ends every open stream, and its connection with it', async () => {
    const response = await fetch(`${base}/stats/stream`);
    const { reader } = await readFrames(response.body!, 1);
    closeDashboards();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {}
    expect(response.headers.get('connection')).toBe('close'); // the socket goes with the stream
  });
});
