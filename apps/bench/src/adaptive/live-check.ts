// `pnpm --filter @sluice/bench live:adaptive`: the live check of issue 14 on real HTTP.
// An Express server whose handler saturates (its latency grows with the requests it serves
// at once past CAPACITY, like a pool or a CPU-bound dependency) is driven by an open-loop
// Poisson client at 150 % of that capacity, once behind an AdaptiveSemaphore (gradient2,
// starting too high at 100) and once behind a fixed limit that is too high (1000). A run is
// about 20 s; the numbers are wall-clock and indicative only on a loaded machine.

import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdaptiveSemaphore, concurrency, gradient2 } from '@sluice/express';
import express from 'express';
import { exponential, seeded } from './prng.js';

const CAPACITY = 10;
const BASE_MS = 100;
const LOAD = 1.5;
const WARMUP_MS = 5000;
const MEASURE_MS = 6000;
const CLIENT_TIMEOUT_MS = 3000;

interface Outcome {
  status: number;
  ms: number;
}

async function startServer(limit: number | AdaptiveSemaphore) {
  let serving = 0;
  const app = express();
  app.get(
    '/',
    concurrency({
      limit,
      ...(typeof limit === 'number' ? { maxWaiting: 1000 } : {}),
      timeout: 100,
    }),
    (_req, res) => {
      serving++;
      const ms = BASE_MS * Math.max(1, serving / CAPACITY);
      setTimeout(() => {
        serving--;
        res.type('text/plain').send('ok');
      }, ms);
    },
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function get(port: number, agent: Agent): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { port, host: '127.0.0.1', path: '/', agent, timeout: CLIENT_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    req.end();
  });
}

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export async function liveRun(name: string, limit: number | AdaptiveSemaphore) {
  const server = await startServer(limit);
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const random = seeded(14);
  const meanGap = BASE_MS / (CAPACITY * LOAD);
  const outcomes: Promise<Outcome>[] = [];
  const start = performance.now();
  let next = start;
  while (next - start < WARMUP_MS + MEASURE_MS) {
    const wait = next - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const promise = get(server.port, agent);
    if (next - start >= WARMUP_MS) outcomes.push(promise);
    next += exponential(random, meanGap);
  }
  const results = await Promise.all(outcomes);
  agent.destroy();
  await server.close();
  const ok = results
    .filter((r) => r.status === 200)
    .map((r) => r.ms)
    .sort((a, b) => a - b);
  return {
    name,
    sent: results.length,
    ok: ok.length,
    shed: results.filter((r) => r.status === 503).length,
    failed: results.filter((r) => r.status === 0).length,
    okPerSecond: ok.length / (MEASURE_MS / 1000),
    p50: quantile(ok, 0.5),
    p99: quantile(ok, 0.99),
    limit: typeof limit === 'number' ? limit : limit.limit,
  };
}

async function main(): Promise<void> {
  const adaptive = await liveRun(
    'adaptive (gradient2, starts at 100)',
    new AdaptiveSemaphore({ algorithm: gradient2(), initialLimit: 100, maxWaiting: 1000 }),
  );
  const tooHigh = await liveRun('fixed 1000 (too high)', 1000);
  const lines = [
    `Saturating handler: ${BASE_MS} ms × max(1, serving / ${CAPACITY}); open-loop Poisson at ${LOAD * 100} % of capacity; queue wait ≤ 100 ms; measured ${MEASURE_MS / 1000} s after ${WARMUP_MS / 1000} s of warm-up.`,
    '',
    '| limiter | sent | 200 | 503 | client timeouts | 200/s | p50 ms (200) | p99 ms (200) | limit at end |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...[adaptive, tooHigh].map(
      (r) =>
        `| ${r.name} | ${r.sent} | ${r.ok} | ${r.shed} | ${r.failed} | ${r.okPerSecond.toFixed(0)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.limit} |`,
    ),
    '',
    `p99 bounded by the adaptive limit: ${adaptive.p99 < tooHigh.p99 / 2 ? 'PASS' : 'MISS'} (${adaptive.p99.toFixed(0)} ms vs ${tooHigh.p99.toFixed(0)} ms)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
