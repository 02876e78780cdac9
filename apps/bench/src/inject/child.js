// @ts-check
// Child process: `node --expose-gc [--import tsx] src/inject/child.js <framework> '<plan JSON>'`.
// Starts every variant of src/inject/<framework>.(js|ts) in this one process, drives them
// in-process (no socket) in interleaved rounds, and prints one JSON line on stdout: an
// InjectChildResult, or `{"error": "..."}`. One process per framework, so that what one
// framework leaves in the JIT or the heap is not charged to another.
import { existsSync } from 'node:fs';

/**
 * @typedef {{ rounds: number, sampleMs: number, minRequests: number, maxRequests: number,
 *   inFlight: number, warmupRequests: number }} InjectPlan
 */

const [framework, planJson] = process.argv.slice(2);
/** @type {InjectPlan} */
const plan = JSON.parse(planJson ?? '{}');
const gc = /** @type {{ gc?: () => void }} */ (globalThis).gc ?? (() => {});

/** @param {unknown} message */
function say(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Resolves after the event loop's check phase: every `setImmediate` queued until now has run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Each lane lets the event loop turn after this many requests. An injected request settles
 * through promise jobs alone, but light-my-request (Express, Nest on either platform) ends
 * every response with a `setImmediate`. A loop that never yields leaves them all pending, each
 * holding its request, response and mock socket: the heap grew by ~10 KB per request and the
 * cost per request tripled over a run (a heap snapshot of the Nest-on-Fastify child showed
 * 20,000 `Immediate`s, each holding one `MockSocket`, after 20,000 requests).
 */
const YIELD_EVERY = 16;

/**
 * `total` requests with `inFlight` of them in flight at all times (a closed loop, like a load
 * generator's connections). Resolves with how many answered something other than 200, once
 * the work those requests left for the event loop has run too, so that a sample pays for it.
 * @param {() => Promise<number>} request
 * @param {number} total
 * @param {number} inFlight
 */
async function drive(request, total, inFlight) {
  let started = 0;
  let bad = 0;
  const lane = async () => {
    for (let done = 1; started < total; done++) {
      started++;
      if ((await request()) !== 200) bad++;
      if (done % YIELD_EVERY === 0) await turn();
    }
  };
  const lanes = [];
  for (let i = 0; i < Math.min(inFlight, total); i++) lanes.push(lane());
  await Promise.all(lanes);
  await turn();
  return bad;
}

/**
 * @param {() => Promise<number>} request
 * @param {number} n
 */
async function sample(request, n) {
  gc();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const bad = await drive(request, n, plan.inFlight);
  const wallNs = Number(process.hrtime.bigint() - start);
  const { user, system } = process.cpuUsage(cpu);
  return { cpuUs: (user + system) / n, wallUs: wallNs / 1000 / n, bad };
}

try {
  const js = new URL(`./${framework}.js`, import.meta.url);
  const file = existsSync(js) ? js : new URL(`./${framework}.ts`, import.meta.url);
  /** @type {{ variants: import('./types.js').InjectVariant[] }} */
  const mod = await import(file.href);
  // For profiling one row (`node --cpu-prof ... child.js`): INJECT_KINDS=concurrency,noop.
  const kinds = process.env.INJECT_KINDS?.split(',');
  const variants = kinds ? mod.variants.filter((v) => kinds.includes(v.kind)) : mod.variants;
  const apps = [];
  for (const v of variants) apps.push(await v.start());
  /** @type {import('./types.js').InjectVariantSamples[]} */
  const rows = variants.map((v) => ({
    name: v.name,
    kind: v.kind,
    cpuUs: [],
    wallUs: [],
    rounds: [],
    non200: 0,
  }));

  // Warm-up: every variant twice (the JIT settles), then size a sample from the bare row so
  // that one sample takes about `sampleMs`.
  let bareUs = 0;
  for (let pass = 0; pass < 2; pass++) {
    for (const [i, app] of apps.entries()) {
      const s = await sample(app.request, plan.warmupRequests);
      if (variants[i]?.kind === 'bare') bareUs = s.wallUs;
    }
  }
  const n = Math.max(
    plan.minRequests,
    Math.min(plan.maxRequests, Math.round((plan.sampleMs * 1000) / Math.max(bareUs, 0.1))),
  );

  for (let round = 0; round < plan.rounds; round++) {
    for (let k = 0; k < apps.length; k++) {
      const i = (k + round) % apps.length;
      const s = await sample(/** @type {import('./types.js').InjectApp} */ (apps[i]).request, n);
      const row = /** @type {import('./types.js').InjectVariantSamples} */ (rows[i]);
      row.cpuUs.push(s.cpuUs);
      row.wallUs.push(s.wallUs);
      row.rounds.push(round);
      row.non200 += s.bad;
    }
  }
  for (const [i, app] of apps.entries()) {
    const problem = app.check?.();
    const row = /** @type {import('./types.js').InjectVariantSamples} */ (rows[i]);
    if (problem) row.note = problem;
    await app.close();
  }
  /** @type {import('./types.js').InjectChildResult} */
  const result = {
    framework: String(framework),
    requestsPerSample: n,
    inFlight: plan.inFlight,
    variants: rows,
  };
  say(result);
  process.exit(0);
} catch (error) {
  say({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
