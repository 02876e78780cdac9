// `pnpm --filter @sluice/bench bench:redis-floor`: where the one-caller ratio of `pnpm bench:redis`
// can go at best. One caller, one decision at a time, on one throwaway redis-server, both clients,
// each row's throughput as a ratio to rate-limiter-flexible's `consume` in the same round
// (rounds interleaved, medians and the spread rep by rep):
//   - sluice `tryTake` and rate-limiter-flexible `consume`, as in bench:redis;
//   - raw script calls with no library around them: sluice's lone-decision GCRA script, the
//     least a GCRA that reads Redis's clock can do (TIME, GET, SET with a TTL), and
//     rate-limiter-flexible's own script. Each over the client's plain command call.
// So "raw ours vs raw theirs" is the scripts' difference inside Redis, and "tryTake vs raw ours"
// what sluice's store adds on the client (command timeout, breaker, STALE/NOSCRIPT handling).
//
//   node --import tsx src/redis-floor.ts [--seconds 0.2] [--reps 16]
import { RedisKeyedTokenBucket, RedisStore } from '@sluice/redis';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { createClient } from 'redis';
import { singleScript } from '../../../packages/redis/src/internal/gcra.js';
import { startRedisServer } from '../../../scripts/redis-server.mjs';
import { numberFlag } from './args.js';
import { environment } from './env.js';
import { median } from './harness.js';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => numberFlag(argv, name, fallback);
const SECONDS = flag('seconds', 0.2);
const REPS = flag('reps', 16);
const log = (line: string) => process.stderr.write(`${line}\n`);

// TIME, GET, SET with a TTL and nothing else: no GCRA arithmetic, no deadline, a 2-item reply.
const floorScript = `local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local tat = tonumber(redis.call('GET', KEYS[1])) or now
redis.call('SET', KEYS[1], tat + 1, 'PX', 1000)
return {1, now}
`;

async function perSecond(decide: () => Promise<unknown>, ms: number): Promise<number> {
  let ops = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await decide();
    ops++;
  }
  return ops / ((performance.now() - start) / 1000);
}

async function main() {
  const server = await startRedisServer();
  const nodeRedis = createClient({ url: server.url });
  await nodeRedis.connect();
  const ioredis = new Redis(server.url);
  const stores: RedisStore[] = [];
  try {
    let n = 0;
    const key = (prefix: string) => {
      n = (n + 1) % 1000;
      return `${prefix}${n}`;
    };
    const rows: Array<{ name: string; client: string; decide: () => Promise<unknown> }> = [];
    for (const [client, raw] of [
      ['node-redis', nodeRedis],
      ['ioredis', ioredis],
    ] as const) {
      const store = new RedisStore({ client: raw, prefix: `floor-${client}` });
      stores.push(store);
      const bucket = new RedisKeyedTokenBucket(store, {
        name: 'tb',
        capacity: 1_000_000,
        refillPerSecond: 1_000_000,
      });
      const flexible = new RateLimiterRedis({
        storeClient: raw,
        useRedisPackage: client === 'node-redis',
        keyPrefix: `floor-rlf-${client}`,
        points: 1_000_000,
        duration: 1,
      });
      // The plain command call each library offers (what sluice's store uses underneath).
      const send =
        client === 'ioredis'
          ? (args: string[]) => ioredis.callBuffer(args[0]!, ...args.slice(1))
          : (args: string[]) => nodeRedis.sendCommand(args);
      const [ours, least, theirs] = await Promise.all(
        [
          singleScript.source,
          floorScript,
          (flexible as unknown as { _incrTtlLuaScript: string })._incrTtlLuaScript,
        ].map((source) => ioredis.script('LOAD', source) as Promise<string>),
      );
      // A deadline far ahead, T = 1 µs, C = 1e6, 1 token, no wait: tryTake's arguments.
      const gcraArgs = ['9000000000000000', '1', '1000000', '1', '0'];
      rows.push(
        { name: 'rate-limiter-flexible consume', client, decide: () => flexible.consume(key('k')) },
        { name: 'sluice tryTake', client, decide: () => bucket.tryTake(key('k')) },
        {
          name: 'raw: rate-limiter-flexible script',
          client,
          decide: () =>
            send(['evalsha', theirs!, '1', key(`rt-${client}`), '1', '1', '1000000', '1']),
        },
        {
          name: 'raw: sluice lone-decision script',
          client,
          decide: () => send(['evalsha', ours!, '1', key(`ro-${client}`), ...gcraArgs]),
        },
        {
          name: 'raw: TIME + GET + SET only',
          client,
          decide: () => send(['evalsha', least!, '1', key(`rl-${client}`), ...gcraArgs]),
        },
      );
    }
    const samples = new Map(rows.map((row) => [row, [] as number[]]));
    for (const row of rows) await perSecond(row.decide, 200); // warm-up
    for (let rep = 0; rep < REPS; rep++) {
      log(`rep ${rep + 1}/${REPS}`);
      for (const row of rep % 2 ? [...rows].reverse() : rows) {
        samples.get(row)!.push(await perSecond(row.decide, SECONDS * 1000));
      }
    }
    const env = environment();
    const out = [
      `Run ${new Date().toISOString()}: ${env.cpu} x${env.cores}, Node ${env.node}, load average ${env.loadAverage} at start; one caller; ${REPS} interleaved reps of ${SECONDS} s.`,
      '',
      '| one caller | client | decisions/s | vs rate-limiter-flexible consume, rep by rep: median | spread |',
      '| --- | --- | ---: | ---: | --- |',
    ];
    for (const row of rows) {
      const peer = samples.get(rows.find((r) => r.client === row.client)!)!;
      const mine = samples.get(row)!;
      const ratios = mine.map((x, i) => x / peer[i]!);
      out.push(
        `| ${row.name} | ${row.client} | ${Math.round(median(mine)!).toLocaleString('en-US')} | ${median(ratios)!.toFixed(3)}x | ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)} |`,
      );
    }
    console.log(out.join('\n'));
  } finally {
    for (const store of stores) await store.close();
    await nodeRedis.close();
    ioredis.disconnect();
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
