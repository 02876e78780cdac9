#!/usr/bin/env node
// `pnpm demo`: start a demo server, fire a burst at it, print what happened.
//
//   node scripts/demo.mjs [--framework express|hono|nestjs] [--requests 40] [--ms 300] [--keep|--no-keep]
//
// It prints the URL of the demo's live dashboard (/dashboard). In an interactive terminal the
// server keeps running after the report, so the dashboard can be opened, until Ctrl-C
// (--keep / --no-keep choose explicitly).
//
// Every demo app serves the same contract (see DESIGN.md "Demo apps"): GET /work?ms=N behind
// concurrency({ limit: 4, maxWaiting: 8, timeout: 1000 }), GET /api/hello behind
// rateLimit({ capacity: 5, refillPerSecond: 1 }), GET /stats -> { work: <Semaphore stats> }.

import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, stopServer, table } from './demo-server.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FRAMEWORKS = ['express', 'hono', 'nestjs'];

function parseArgs(argv) {
  const interactive = Boolean(process.stdout.isTTY && process.stdin.isTTY && !process.env.CI);
  const options = { framework: 'express', requests: 40, ms: 300, hello: 8, keep: interactive };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--framework' || flag === '-f') options.framework = value();
    else if (flag === '--requests') options.requests = Number(value());
    else if (flag === '--ms') options.ms = Number(value());
    else if (flag === '--keep') options.keep = true;
    else if (flag === '--no-keep') options.keep = false;
    else if (flag === '--help' || flag === '-h') {
      console.log(
        'usage: node scripts/demo.mjs [--framework express|hono|nestjs] [--requests 40] [--ms 300] [--keep|--no-keep]',
      );
      process.exit(0);
    } else throw new Error(`Unknown argument ${JSON.stringify(argv[i])} (try --help)`);
  }
  if (!FRAMEWORKS.includes(options.framework)) {
    throw new Error(
      `--framework must be one of ${FRAMEWORKS.join(', ')}, got ${JSON.stringify(options.framework)}`,
    );
  }
  for (const name of ['requests', 'ms']) {
    if (!Number.isInteger(options[name]) || options[name] < 1) {
      throw new Error(`--${name} must be a positive integer, got ${options[name]}`);
    }
  }
  return options;
}

async function timedGet(url) {
  const started = performance.now();
  try {
    const response = await fetch(url);
    const text = await response.text();
    const ms = performance.now() - started;
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, headers: response.headers, body, ms };
  } catch (error) {
    return { status: 0, error, body: undefined, ms: performance.now() - started };
  }
}

function percentile(values, p) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const fmtMs = (v) => (v === undefined ? '-' : `${Math.round(v)} ms`);

function outcomeOf(reply, ms) {
  if (reply.status === 0) return 'network error';
  if (reply.status === 200) {
    // Demos report how long the request queued; otherwise judge by the latency.
    const waited = typeof reply.body?.waitedMs === 'number' ? reply.body.waitedMs : reply.ms - ms;
    return waited > 20 ? '200 admitted after queueing' : '200 admitted at once';
  }
  const reason = typeof reply.body?.reason === 'string' ? ` ${reply.body.reason}` : '';
  return `${reply.status}${reason}`;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const app = join(ROOT, 'apps', `${options.framework}-demo`);
  const mainFile = join(app, 'dist', 'main.js');
  if (!existsSync(mainFile)) {
    console.error(
      `${relative(ROOT, mainFile)} is missing: build it first with\n` +
        `  npx turbo run build --filter=@sluice/${options.framework}-demo...`,
    );
    process.exit(1);
  }

  const { child, port: portPromise } = startServer(mainFile);
  try {
    const port = await portPromise;
    const base = `http://127.0.0.1:${port}`;
    console.log(
      `\nsluice demo: ${options.framework} (${relative(ROOT, app)}), listening on ${base}`,
    );
    console.log(`live dashboard: ${base}/dashboard\n`);

    // One request first, so connection setup and JIT warm-up do not colour the burst.
    await timedGet(`${base}/stats`);

    // 1. A burst at the concurrency-limited route.
    const work = `/work?ms=${options.ms}`;
    console.log(`Burst: ${options.requests} concurrent GET ${work}`);
    console.log('  /work is behind concurrency({ limit: 4, maxWaiting: 8, timeout: 1000 })\n');
    const burstStarted = performance.now();
    const replies = await Promise.all(
      Array.from({ length: options.requests }, () => timedGet(`${base}${work}`)),
    );
    const burstMs = performance.now() - burstStarted;

    const groups = new Map();
    for (const reply of replies) {
      const outcome = outcomeOf(reply, options.ms);
      if (!groups.has(outcome)) groups.set(outcome, []);
      groups.get(outcome).push(reply.ms);
    }
    const RANK = ['200 admitted at once', '200 admitted after queueing'];
    const order = (label) => (RANK.includes(label) ? `${RANK.indexOf(label)}` : `9${label}`);
    const rows = [...groups.entries()]
      .sort(([a], [b]) => order(a).localeCompare(order(b)))
      .map(([label, ms]) => [
        label,
        ms.length,
        fmtMs(percentile(ms, 50)),
        fmtMs(percentile(ms, 95)),
        fmtMs(percentile(ms, 99)),
      ]);
    console.log(table(['outcome', 'count', 'p50', 'p95', 'p99'], rows));

    const admitted = replies.filter((r) => r.status === 200).map((r) => r.ms);
    const shed = replies.filter((r) => r.status >= 400).map((r) => r.ms);
    console.log(
      `\n${table(
        ['latency', 'count', 'p50', 'p95', 'p99'],
        [
          [
            'admitted (2xx)',
            admitted.length,
            ...[50, 95, 99].map((p) => fmtMs(percentile(admitted, p))),
          ],
          ['shed (503/429)', shed.length, ...[50, 95, 99].map((p) => fmtMs(percentile(shed, p)))],
        ],
      )}`,
    );

    const stats = (await timedGet(`${base}/stats`)).body?.work;
    const retryAfter = replies.find((r) => r.status >= 400)?.headers?.get('retry-after');
    console.log(
      `\n  highest in-flight (GET /stats -> work.maxInUse): ${stats?.maxInUse ?? '?'} of ${stats?.capacity ?? '?'}` +
        `   burst took ${fmtMs(burstMs)}` +
        (retryAfter ? `   shed answers carried Retry-After: ${retryAfter}` : ''),
    );

    // 2. A client going too fast on the rate-limited route.
    console.log(`\nRate limit: ${options.hello} quick GET /api/hello from one client`);
    console.log('  /api/hello is behind rateLimit({ capacity: 5, refillPerSecond: 1 })\n');
    const hello = [];
    for (let i = 0; i < options.hello; i++) hello.push(await timedGet(`${base}/api/hello`));
    const helloRows = hello.map((r, i) => [
      `#${i + 1}`,
      r.status,
      r.headers?.get('ratelimit') ?? '-',
      r.headers?.get('retry-after') ?? '-',
    ]);
    console.log(table(['request', 'status', 'RateLimit', 'Retry-After'], helloRows));

    // 3. What the limiter itself counted.
    if (stats) {
      console.log('\nGET /stats -> work');
      console.log(
        table(
          ['counter', 'value'],
          Object.entries(stats).map(([name, value]) => [name, value]),
        ),
      );
    }
    const failed =
      replies.filter((r) => r.status === 0).length + hello.filter((r) => r.status === 0).length;
    console.log('');
    if (failed > 0) throw new Error(`${failed} request(s) failed at the network level`);
    if (options.keep) {
      console.log(
        `The server keeps running: open ${base}/dashboard and press "Fire a burst". Ctrl-C stops it.`,
      );
      await new Promise((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
        child.once('exit', resolve);
      });
    }
  } finally {
    await stopServer(child);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  },
);
