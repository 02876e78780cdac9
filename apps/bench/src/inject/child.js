// @ts-check
// Child process of `pnpm bench:http`'s in-process part (driver.ts spawns it with an IPC channel):
//   node --expose-gc [--import tsx] src/inject/child.js <framework> '<plan JSON>'
// It starts the variants of src/inject/<framework>.(js|ts) that INJECT_KINDS names (all without
// it) and drives them in-process (no socket) when the parent asks: `{ warmup: n, variant: i }`
// and `{ sample: n, variant: i }` measure, `{ close: true }` ends. One reply per message, and
// the parent sends one message at a time to one child at a time, so a child sits idle while
// another is measured. The parent chooses the layout: one variant per process (the default) or
// all of a framework's variants in one (`--shared-process`).
import { existsSync } from 'node:fs';

/**
 * @typedef {{ rounds: number, sampleMs: number, minRequests: number, maxRequests: number,
 *   inFlight: number, warmupRequests: number }} InjectPlan
 * @typedef {{ cpuUs: number, wallUs: number, bad: number }} Sample
 */

const [framework, planJson] = process.argv.slice(2);
/** @type {InjectPlan} */
const plan = JSON.parse(planJson ?? '{}');
const gc = /** @type {{ gc?: () => void }} */ (globalThis).gc ?? (() => {});

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
 * @returns {Promise<Sample>}
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

/** @returns {Promise<import('./types.js').InjectVariant[]>} */
async function loadVariants() {
  const js = new URL(`./${framework}.js`, import.meta.url);
  const file = existsSync(js) ? js : new URL(`./${framework}.ts`, import.meta.url);
  /** @type {{ variants: import('./types.js').InjectVariant[] }} */
  const mod = await import(file.href);
  const kinds = process.env.INJECT_KINDS?.split(',');
  const variants = kinds ? mod.variants.filter((v) => kinds.includes(v.kind)) : mod.variants;
  if (variants.length === 0) throw new Error(`${framework} has no variant ${kinds?.join(',')}`);
  return variants;
}

/** @param {unknown} error */
const errorMessage = (error) => ({
  error: error instanceof Error ? (error.stack ?? error.message) : String(error),
});

const send = (/** @type {unknown} */ message) =>
  new Promise((resolve) => {
    if (process.send) process.send(message, undefined, {}, resolve);
    else {
      process.stdout.write(`${JSON.stringify(message)}\n`);
      resolve(undefined);
    }
  });

try {
  if (!process.send) throw new Error('child.js is driven by src/inject/driver.ts over IPC');
  const variants = await loadVariants();
  /** @type {import('./types.js').InjectApp[]} */
  const apps = [];
  for (const v of variants) apps.push(await v.start());
  process.on('message', async (/** @type {any} */ message) => {
    try {
      const app = apps[message.variant ?? 0];
      if (message.close) {
        const notes = apps.map((a) => a.check?.());
        for (const a of apps) await a.close();
        await send({ notes });
        process.disconnect();
      } else if (!app) {
        throw new Error(`no variant ${message.variant}`);
      } else if (message.warmup) {
        await sample(app.request, message.warmup);
        await send(await sample(app.request, message.warmup));
      } else {
        await send(await sample(app.request, message.sample));
      }
    } catch (error) {
      await send(errorMessage(error));
    }
  });
  await send({ ready: variants.map((v) => ({ name: v.name, kind: v.kind })) });
} catch (error) {
  await send(errorMessage(error));
  process.exit(1);
}
