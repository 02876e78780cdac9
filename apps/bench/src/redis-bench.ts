// `pnpm bench:redis`: @sluice/redis side by side with the Redis rate limiters people use, on one
// throwaway redis-server (scripts/redis-server.mjs), short runs (about a minute in all):
//   1. tryTake throughput at 1 and at 100 concurrent callers vs rate-limiter-flexible's
//      RateLimiterRedis.consume, over node-redis and over ioredis;
//   2. Redis commands per decision (INFO commandstats), one caller and 100 concurrent callers;
//   3. an Express app with rateLimit over RedisKeyedTokenBucket vs express-rate-limit with
//      rate-limit-redis, each server in its own process, loaded by autocannon.
// No limiter refuses anything here (limits far above the load): the figures are what a
// decision that says yes costs. Prints markdown on stdout, progress on stderr.
//
//   node --import tsx src/redis-bench.ts [--seconds 1.5] [--reps 2] [--no-http] [--callers 1,100]
// (`--callers 1` measures only the one-caller rows, e.g. for a quick A/B of a change.)
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RedisKeyedTokenBucket, RedisStore } from '@sluice/redis';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { createClient } from 'redis';
import { startRedisServer } from '../../../scripts/redis-server.mjs';
import { numberFlag } from './args.js';
import { environment } from './env.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => numberFlag(argv, name, fallback);
const SECONDS = flag('seconds', 1.5);
const REPS = flag('reps', 2);
const HTTP = !argv.includes('--no-http');
const CALLERS = (() => {
  const i = argv.indexOf('--callers');
  const list = i >= 0 ? argv[i + 1]!.split(',').map(Number) : [1, 100];
  if (list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new TypeError(
      `Expected --callers to be positive integers like 1,100, got ${argv[i + 1]}`,
    );
  }
  return list;
})();
const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

type Decide = (i: number) => Promise<unknown>;
interface Case {
  name: string;
  client: 'node-redis' | 'ioredis';
  decide: Decide;
}

interface Sample {
  perSecond: number;
  /** This process's CPU time (user + system) per decision, µs: less sensitive to a busy machine. */
  cpuUs: number;
}

async function throughput(decide: Decide, callers: number, ms: number): Promise<Sample> {
  let ops = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let i = caller; performance.now() < end; i += callers) {
        await decide(i);
        ops++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return {
    perSecond: ops / ((performance.now() - start) / 1000),
    cpuUs: (used.user + used.system) / ops,
  };
}

async function main() {
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  const closers: Array<() => unknown> = [];
  try {
    const nodeRedis = createClient({ url: server.url });
    await nodeRedis.connect();
    const ioredis = new Redis(server.url);
    closers.push(
      () => nodeRedis.close(),
      () => ioredis.disconnect(),
    );

    const cases: Case[] = [];
    for (const [client, raw] of [
      ['node-redis', nodeRedis],
      ['ioredis', ioredis],
    ] as const) {
      const store = new RedisStore({ client: raw, prefix: `bench-${client}` });
      closers.push(() => store.close());
      const bucket = new RedisKeyedTokenBucket(store, {
        name: 'tb',
        capacity: 1_000_000,
        refillPerSecond: 1_000_000,
      });
      cases.push({
        name: 'sluice RedisKeyedTokenBucket.tryTake',
        client,
        decide: (i) => bucket.tryTake(`k${i % 1000}`),
      });
      const flexible = new RateLimiterRedis({
        storeClient: raw,
        useRedisPackage: client === 'node-redis',
        keyPrefix: `rlf-${client}`,
        points: 1_000_000,
        duration: 1,
      });
      cases.push({
        name: 'rate-limiter-flexible RateLimiterRedis.consume',
        client,
        decide: (i) => flexible.consume(`k${i % 1000}`),
      });
    }

    // 1. Throughput, repetitions interleaved so that drift in the machine's load hits every row.
    const rows: Array<{ c: Case; callers: number; samples: Sample[] }> = [];
    for (const callers of CALLERS) {
      for (const c of cases) rows.push({ c, callers, samples: [] });
    }
    for (const row of rows) await throughput(row.c.decide, row.callers, 300); // warm-up
    for (let rep = 0; rep < REPS; rep++) {
      for (const row of rows) {
        log(
          `throughput rep ${rep + 1}/${REPS}: ${row.c.name} (${row.c.client}), ${row.callers} callers`,
        );
        row.samples.push(await throughput(row.c.decide, row.callers, SECONDS * 1000));
      }
    }

    // 2. Commands per decision: one caller, then 100 callers (concurrent decisions may share one).
    const commands: Array<{ c: Case; perDecision: string; scripts: number; concurrent: number }> =
      [];
    const scriptCalls = (info: string) =>
      [...info.matchAll(/cmdstat_(evalsha|eval):calls=(\d+)/g)].reduce(
        (sum, [, , count]) => sum + Number(count),
        0,
      );
    for (const c of cases) {
      await c.decide(0);
      await admin.config('RESETSTAT');
      const n = 1000;
      for (let i = 0; i < n; i++) await c.decide(i);
      const info = await admin.info('commandstats');
      const calls = [...info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)]
        .filter(([, name]) => name !== 'info' && name !== 'config')
        .map(([, name, count]) => [name!, Number(count) / n] as const);
      const perDecision = calls.map(([name, x]) => `${name} ${+x.toFixed(2)}`).join(', ');
      await admin.config('RESETSTAT');
      await Promise.all(
        Array.from({ length: 100 }, async (_, caller) => {
          for (let i = 0; i < 20; i++) await c.decide(caller * 20 + i);
        }),
      );
      const concurrent = scriptCalls(await admin.info('commandstats')) / 2000;
      commands.push({ c, perDecision, scripts: scriptCalls(info) / n, concurrent });
    }

    // 3. HTTP.
    const http: Array<{ name: string; samples: Array<{ rps: number; p99: number }> }> = [];
    if (HTTP) {
      const variants = [
        'sluice rateLimit + RedisKeyedTokenBucket',
        'express-rate-limit + rate-limit-redis',
      ];
      for (const name of variants) http.push({ name, samples: [] });
      for (let rep = 0; rep < REPS; rep++) {
        for (const row of http) {
          log(`http rep ${rep + 1}/${REPS}: ${row.name}`);
          row.samples.push(await loadHttp(row.name, server.url));
        }
      }
    }

    print(rows, commands, http);
  } finally {
    for (const close of closers) await close();
    admin.disconnect();
    await server.stop();
  }
}

const serverScript = fileURLToPath(new URL('./redis-http-server.ts', import.meta.url));

async function loadHttp(variant: string, redisUrl: string): Promise<{ rps: number; p99: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', serverScript, variant, redisUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}`)));
    });
    const { port } = JSON.parse(line) as { port: number };
    const url = `http://127.0.0.1:${port}/`;
    await autocannon({ url, connections: 50, duration: 1 }); // warm-up
    const result = await autocannon({ url, connections: 50, duration: Math.max(2, SECONDS * 2) });
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${variant}: ${result.non2xx} non-2xx and ${result.errors} errors`);
    }
    return { rps: result.requests.average, p99: result.latency.p99 };
  } finally {
    child.kill('SIGTERM');
  }
}

function print(
  rows: Array<{ c: Case; callers: number; samples: Sample[] }>,
  commands: Array<{ c: Case; perDecision: string; scripts: number; concurrent: number }>,
  http: Array<{ name: string; samples: Array<{ rps: number; p99: number }> }>,
) {
  const env = environment();
  const out: string[] = [];
  out.push(
    `Run ${new Date().toISOString()}: ${env.cpu} x${env.cores}, Node ${env.node}, load average ${env.loadAverage} at start; redis-server on loopback; ${REPS} reps of ${SECONDS} s, medians.`,
  );
  out.push(
    '',
    '| decision | client | callers | decisions/s | vs rate-limiter-flexible | client CPU per decision | vs rate-limiter-flexible |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const row of rows) {
    const peer = rows.find(
      (r) =>
        r.callers === row.callers &&
        r.c.client === row.c.client &&
        r.c.name.startsWith('rate-limiter-flexible'),
    )!;
    const rate = median(row.samples.map((s) => s.perSecond));
    const cpu = median(row.samples.map((s) => s.cpuUs));
    const peerRate = median(peer.samples.map((s) => s.perSecond));
    const peerCpu = median(peer.samples.map((s) => s.cpuUs));
    out.push(
      `| ${row.c.name} | ${row.c.client} | ${row.callers} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / peerRate).toFixed(2)}x | ${cpu.toFixed(1)} µs | ${(peerCpu / cpu).toFixed(2)}x |`,
    );
    if (row !== peer) {
      // The spread of the ratio rep by rep (each rep is next to its peer's): how far to trust it.
      const ratios = row.samples.map((s, i) => s.perSecond / peer.samples[i]!.perSecond);
      log(
        `${row.c.name} (${row.c.client}, ${row.callers} callers) vs rate-limiter-flexible, rep by rep: median ${median(ratios).toFixed(3)}, ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}`,
      );
    }
  }
  out.push(
    '',
    '| decision | client | script calls per decision, 1 caller | at 100 callers | all commands per decision, 1 caller (INFO commandstats, those inside the script included) |',
    '| --- | --- | ---: | ---: | --- |',
  );
  for (const { c, perDecision, scripts, concurrent } of commands) {
    out.push(
      `| ${c.name} | ${c.client} | ${+scripts.toFixed(2)} | ${+concurrent.toFixed(3)} | ${perDecision} |`,
    );
  }
  if (http.length > 0) {
    out.push(
      '',
      '| Express app, node-redis, 50 connections | requests/s | p99 latency | vs express-rate-limit + rate-limit-redis |',
      '| --- | ---: | ---: | ---: |',
    );
    const peer = median(http[1]!.samples.map((s) => s.rps));
    for (const row of http) {
      const rps = median(row.samples.map((s) => s.rps));
      const p99 = median(row.samples.map((s) => s.p99));
      out.push(
        `| ${row.name} | ${Math.round(rps).toLocaleString('en-US')} | ${p99} ms | ${(rps / peer).toFixed(2)}x |`,
      );
    }
  }
  console.log(out.join('\n'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
