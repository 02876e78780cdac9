#!/usr/bin/env node
// `pnpm demo:fleet`: one rate limit and one concurrency limit across a fleet. Starts a
// redis-server and three instances of the Express demo sharing it (REDIS_URL), then:
//   1. fires a burst at GET /api/hello spread across the three, and prints per instance and in
//      total what was admitted and what was limited, and why. /api/hello is behind
//      rateLimit({ capacity: 5, refillPerSecond: 1 }) per client, kept in Redis: the three
//      instances together admit what one would, not three times as much;
//   2. fires a burst at GET /fleet/work (300 ms of work each) spread across the three, behind
//      concurrency({ limit: RedisSemaphore capacity 3 }), and prints how many ran at once on
//      each instance and across the fleet (from the start and end times the instances report):
//      never more than 3 in all, where three in-memory limits would let 9 run.
//
//   node scripts/demo-fleet.mjs [--requests 30] [--instances 3]

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, stopServer, table } from './demo-server.mjs';
import { startRedisServer } from './redis-server.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'apps', 'express-demo', 'dist', 'main.js');
const CAPACITY = 5;
const REFILL_PER_SECOND = 1;
/** The capacity of the RedisSemaphore behind /fleet/work (apps/express-demo/src/main.ts). */
const FLEET_WORK_CAPACITY = 3;
const FLEET_WORK_REQUESTS = 12;

function parseArgs(argv) {
  const options = { requests: 30, instances: 3 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => Number(inline ?? argv[++i]);
    if (flag === '--requests') options.requests = value();
    else if (flag === '--instances') options.instances = value();
    else if (flag === '--help' || flag === '-h') {
      console.log('usage: node scripts/demo-fleet.mjs [--requests 30] [--instances 3]');
      process.exit(0);
    } else throw new Error(`Unknown argument ${JSON.stringify(argv[i])} (try --help)`);
  }
  for (const name of ['requests', 'instances']) {
    if (!Number.isInteger(options[name]) || options[name] < 1) {
      throw new Error(`--${name} must be a positive integer, got ${options[name]}`);
    }
  }
  return options;
}

async function get(url) {
  try {
    const response = await fetch(url);
    const text = await response.text();
    let body = {};
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: response.status, reason: body.reason, body };
  } catch (error) {
    return { status: 0, reason: error.code ?? 'network error' };
  }
}

const label = (reply) =>
  reply.status === 200 ? 'admitted' : `${reply.status || 'error'} ${reply.reason ?? ''}`.trim();

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(MAIN)) {
    console.error(
      `${relative(ROOT, MAIN)} is missing: build it first with\n` +
        '  npx turbo run build --filter=@sluice/express-demo...',
    );
    process.exit(1);
  }
  const ensure = spawnSync(process.execPath, [join(ROOT, 'scripts', 'ensure-redis.mjs')], {
    stdio: 'inherit',
  });
  if (ensure.status !== 0) process.exit(ensure.status ?? 1);

  const redis = await startRedisServer();
  const instances = [];
  let failed = false;
  try {
    for (let i = 0; i < options.instances; i++)
      instances.push(startServer(MAIN, { REDIS_URL: redis.url }));
    const ports = await Promise.all(instances.map((instance) => instance.port));
    console.log(`\nsluice fleet demo: redis-server on ${redis.url}`);
    ports.forEach((port, i) => {
      console.log(`  instance ${i + 1}: express demo listening on http://127.0.0.1:${port}`);
    });
    console.log(
      `\nEach instance serves GET /api/hello behind rateLimit({ capacity: ${CAPACITY}, refillPerSecond: ${REFILL_PER_SECOND} })` +
        '\nper client, kept in Redis (RedisKeyedTokenBucket). One client sends a burst of ' +
        `${options.requests} requests,\nround robin across the ${ports.length} instances.\n`,
    );

    // One request each first, so connection set-up does not decide who answers first.
    await Promise.all(ports.map((port) => get(`http://127.0.0.1:${port}/stats`)));
    const started = performance.now();
    const replies = await Promise.all(
      Array.from({ length: options.requests }, async (_, i) => {
        const instance = i % ports.length;
        return { instance, ...(await get(`http://127.0.0.1:${ports[instance]}/api/hello`)) };
      }),
    );
    const seconds = (performance.now() - started) / 1000;

    const outcomes = [...new Set(replies.map(label))].sort((a, b) =>
      a === 'admitted' ? -1 : b === 'admitted' ? 1 : a.localeCompare(b),
    );
    const count = (rs, outcome) => rs.filter((r) => label(r) === outcome).length;
    const rows = ports.map((port, i) => {
      const mine = replies.filter((r) => r.instance === i);
      return [`instance ${i + 1} (:${port})`, mine.length, ...outcomes.map((o) => count(mine, o))];
    });
    rows.push(['total', replies.length, ...outcomes.map((o) => count(replies, o))]);
    console.log(table(['', 'requests', ...outcomes], rows));

    const admitted = count(replies, 'admitted');
    const limit = CAPACITY + Math.floor(REFILL_PER_SECOND * seconds);
    console.log(
      `\nadmitted in total: ${admitted}; one limit allows ${limit} ` +
        `(burst ${CAPACITY} + ${REFILL_PER_SECOND}/s over the ${seconds.toFixed(2)} s burst).` +
        `\n${ports.length} in-memory limiters would have allowed up to ${ports.length * CAPACITY}.`,
    );
    console.log(
      '429 rate_limited: the shared bucket was empty (Retry-After says when a token is back);\n' +
        '503 unavailable would mean Redis did not answer in time (fail closed).',
    );
    if (admitted > limit || admitted < Math.min(CAPACITY, options.requests)) {
      console.error(`\nunexpected: ${admitted} admitted, expected ${CAPACITY} to ${limit}`);
      failed = true;
    }
    if (!(await fleetWork(ports))) failed = true;
  } finally {
    await Promise.all(instances.map(({ child }) => stopServer(child)));
    await redis.stop();
  }
  process.exit(failed ? 1 : 0);
}

/** Most intervals [startedAt, endedAt) open at once; an end and a start at one instant do not overlap. */
function peakOverlap(intervals) {
  const edges = intervals.flatMap(({ startedAt, endedAt }) => [
    [startedAt, 1],
    [endedAt, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = 0;
  for (const [, delta] of edges) {
    open += delta;
    peak = Math.max(peak, open);
  }
  return peak;
}

async function fleetWork(ports) {
  console.log(
    `\nEach instance also serves GET /fleet/work (300 ms of work) behind concurrency({ limit }), the\n` +
      `limit a RedisSemaphore of capacity ${FLEET_WORK_CAPACITY} shared by the fleet. ${FLEET_WORK_REQUESTS} requests at once, round robin:\n`,
  );
  const replies = await Promise.all(
    Array.from({ length: FLEET_WORK_REQUESTS }, async (_, i) => {
      const instance = i % ports.length;
      const reply = await get(`http://127.0.0.1:${ports[instance]}/fleet/work?ms=300`);
      return { instance, ...reply };
    }),
  );
  const served = replies.filter((r) => r.status === 200);
  const rows = ports.map((port, i) => {
    const mine = served.filter((r) => r.instance === i);
    return [
      `instance ${i + 1} (:${port})`,
      FLEET_WORK_REQUESTS / ports.length,
      mine.length,
      peakOverlap(mine.map((r) => r.body)),
    ];
  });
  const peak = peakOverlap(served.map((r) => r.body));
  rows.push(['total', replies.length, served.length, peak]);
  console.log(table(['', 'requests', 'served', 'most at once'], rows));
  console.log(
    `\nat most ${peak} ran at once across the fleet (limit ${FLEET_WORK_CAPACITY}); the others waited their turn in\n` +
      `Redis, in arrival order. ${ports.length} in-memory limits of ${FLEET_WORK_CAPACITY} would have let up to ${ports.length * FLEET_WORK_CAPACITY} run at once.`,
  );
  if (served.length !== replies.length || peak > FLEET_WORK_CAPACITY) {
    const failures = replies.filter((r) => r.status !== 200).map(label);
    console.error(
      `\nunexpected: ${served.length} of ${replies.length} served (${failures.join(', ')}), peak ${peak}`,
    );
    return false;
  }
  return true;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
