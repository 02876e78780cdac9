// The GCRA scripts decide exactly as the plain formulation does. The scripts in gcra.ts avoid
// C calls for Redis's sake (coercion instead of tonumber, ceil/floor as arithmetic) and a lone
// decision runs without the batch loop; the reference below is the body as first written, with
// tonumber, math.ceil and math.floor. Both run on a real Redis with the same `now` (a test
// prelude reads it from the last argument instead of TIME), on the same stored state.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchScript, singleScript } from '../src/internal/gcra.js';
import { startRedis, type TestRedis } from './redis-server.js';

const reference = `local interval = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local burst = capacity * interval
local reply = {1, now}
for i = 1, #KEYS do
  local tokens = tonumber(ARGV[2 + 2 * i])
  local maxWait = tonumber(ARGV[3 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local newTat = tat + tokens * interval
  local wait = newTat - burst - now
  if wait < 1 then wait = 0 end
  local n = #reply
  if maxWait >= 0 and wait > maxWait then
    reply[n + 1] = 0
    reply[n + 2] = math.ceil(wait)
    reply[n + 3] = 0
  else
    redis.call('SET', KEYS[i], string.format('%.0f', newTat), 'PX', math.max(1, math.ceil((newTat - now) / 1000)))
    local remaining = math.floor((burst - (newTat - now)) / interval + 1e-9)
    if remaining < 0 then remaining = 0 end
    if wait > 0 then reply[n + 1] = 2 else reply[n + 1] = 1 end
    reply[n + 2] = math.ceil(wait)
    reply[n + 3] = remaining
  end
end
return reply
`;

const testPrelude = 'local now = tonumber(ARGV[#ARGV])\n';

let redis: TestRedis;
const sha: Record<'reference' | 'single' | 'batch', string> = {
  reference: '',
  single: '',
  batch: '',
};
beforeAll(async () => {
  redis = await startRedis();
  const load = (body: string) => redis.admin.script('LOAD', testPrelude + body) as Promise<string>;
  sha.reference = await load(reference);
  sha.single = await load(singleScript.body);
  sha.batch = await load(batchScript.body);
});
afterAll(async () => {
  await redis?.stop();
});

interface Decision {
  key: number;
  tokens: number;
  maxWait: string;
}

const bucket = fc
  .record({
    logRate: fc.double({ min: -3, max: 9, noNaN: true }),
    capacity: fc.integer({ min: 1, max: 1000 }),
    now: fc.integer({ min: 0, max: 1e12 }).map((n) => 1_700_000_000_000_000 + n),
    // Stored TATs around now, in units of the burst (C·T); none: the key is absent.
    stored: fc.array(fc.option(fc.double({ min: -2, max: 1.2, noNaN: true }), { nil: undefined }), {
      minLength: 3,
      maxLength: 3,
    }),
    fine: fc.boolean(),
  })
  .map((b) => ({ ...b, interval: 1e6 / 10 ** b.logRate }));

const decision = (capacity: number, interval: number): fc.Arbitrary<Decision> =>
  fc.record({
    key: fc.integer({ min: 0, max: 2 }),
    tokens: fc.integer({ min: 1, max: capacity }),
    maxWait: fc.oneof(
      fc.constant('-1'),
      fc.constant('0'),
      fc.integer({ min: 0, max: Math.ceil(2 * capacity * interval) }).map(String),
    ),
  });

/** Runs one script call on fresh copies of the state; its reply and what it left behind. */
async function run(
  script: keyof typeof sha,
  b: {
    interval: number;
    capacity: number;
    now: number;
    stored: (number | undefined)[];
    fine: boolean;
  },
  decisions: Decision[],
) {
  const keys = [0, 1, 2].map((i) => `${script}:${i}`);
  // Every TTL left was set (by this setup or by the script) between now and `answered`.
  const started = performance.now();
  for (const [i, at] of b.stored.entries()) {
    const burst = b.capacity * b.interval * (b.fine ? 1e-3 : 1);
    if (at === undefined) await redis.admin.del(keys[i]!);
    else await redis.admin.set(keys[i]!, (b.now + at * burst).toFixed(0), 'PX', 600_000);
  }
  const args = ['0', String(b.interval), String(b.capacity)];
  for (const d of decisions) args.push(String(d.tokens), d.maxWait);
  const reply = await redis.admin.evalsha(
    sha[script],
    decisions.length,
    ...decisions.map((d) => keys[d.key]!),
    ...args,
    String(b.now),
  );
  const answered = performance.now();
  const left = [];
  for (const key of keys) {
    const value = await redis.admin.get(key);
    const before = performance.now();
    const ttl = await redis.admin.pttl(key);
    const after = performance.now();
    // The TTL that was set, from what is left of it and the time that passed (+1 ms of
    // rounding). A key with a TTL of a few ms may be gone by the time it is read.
    const px: [number, number] =
      value === null || ttl < 0
        ? [1, after - started + 1]
        : [ttl + (before - answered) - 1, ttl + (after - started) + 1];
    left.push({ value, px });
  }
  return { reply, left };
}

/** Same reply, same values stored, and TTLs that can be the same. */
function expectSame(a: Awaited<ReturnType<typeof run>>, b: Awaited<ReturnType<typeof run>>) {
  expect(b.reply).toEqual(a.reply);
  for (const [i, mine] of a.left.entries()) {
    const other = b.left[i]!;
    if (mine.value !== null && other.value !== null) expect(other.value).toBe(mine.value);
    expect(Math.max(mine.px[0], other.px[0])).toBeLessThanOrEqual(
      Math.min(mine.px[1], other.px[1]),
    );
  }
}

describe('GCRA scripts', () => {
  it('a lone decision: the single-key script decides as the reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        bucket.chain((b) => fc.tuple(fc.constant(b), decision(b.capacity, b.interval))),
        async ([b, d]) => {
          expectSame(await run('reference', b, [d]), await run('single', b, [d]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('TATs halfway between two µs are stored as %.0f stores them (half to even)', async () => {
    // Intervals of 2.5, 0.5, 1.5 and 0.25 µs put new TATs on .5 (and .25, .75) of a µs, which
    // random rates almost never hit; now even and odd, so both ways of rounding a half show.
    for (const interval of [2.5, 0.5, 1.5, 0.25]) {
      for (const now of [1_765_000_000_000_000, 1_765_000_000_000_001]) {
        for (const tokens of [1, 2, 3, 4]) {
          // Keys 1 and 2 start ahead of now (and so live long enough to be read back).
          const b = { interval, capacity: 1e6, now, stored: [undefined, 0.5, 0.25], fine: false };
          const ds = [0, 1, 2].map((key) => ({ key, tokens, maxWait: '-1' }));
          const reference = await run('reference', b, ds);
          for (const d of ds)
            expectSame(await run('reference', b, [d]), await run('single', b, [d]));
          expectSame(reference, await run('batch', b, ds));
          for (const { value } of reference.left.slice(1)) expect(value).toMatch(/^\d+$/);
        }
      }
    }
  });

  it('a batch (keys repeated, mixed waits): the batch script decides as the reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        bucket.chain((b) =>
          fc.tuple(
            fc.constant(b),
            fc.array(decision(b.capacity, b.interval), { minLength: 1, maxLength: 8 }),
          ),
        ),
        async ([b, ds]) => {
          expectSame(await run('reference', b, ds), await run('batch', b, ds));
        },
      ),
      { numRuns: 200 },
    );
  });
});
