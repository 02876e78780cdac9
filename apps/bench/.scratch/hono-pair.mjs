// Scratch: interleaved noop vs sluice rows through app.request, CPU µs per request, paired diffs.
import { concurrency, rateLimit } from '@sluice/hono';
import { Hono } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
const kinds = (process.argv[2] ?? 'noop,concurrency').split(',');
const rounds = Number(process.argv[3] ?? 30), n = Number(process.argv[4] ?? 3000);
const oneKey = () => 'bench';
const mk = {
  noop: () => async function noop(_c, next) { await next(); },
  concurrency: () => concurrency({ limit: 10_000 }),
  rateLimit: () => rateLimit({ capacity: 1e9, refillPerSecond: 1e9, key: oneKey }),
  peer: () => rateLimiter({ windowMs: 60_000, limit: 1e9, standardHeaders: 'draft-7', keyGenerator: oneKey }),
};
const apps = kinds.map((k) => { const a = new Hono(); a.use('/', mk[k]()); a.get('/', (c) => c.text('hello')); return a; });
async function run(app, count) {
  let left = count;
  const lane = async () => { while (left-- > 0) { const r = await app.request('/'); await r.arrayBuffer(); } };
  await Promise.all(Array.from({ length: 32 }, lane));
}
for (const a of apps) await run(a, 5000);
const res = kinds.map(() => []);
for (let r = 0; r < rounds; r++) for (let j = 0; j < apps.length; j++) {
  const i = (j + r) % apps.length; globalThis.gc?.();
  const t = process.cpuUsage(); await run(apps[i], n); const u = process.cpuUsage(t);
  res[i].push((u.user + u.system) / n);
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const q = (a, p) => [...a].sort((x, y) => x - y)[Math.floor(p * (a.length - 1))];
for (let i = 0; i < kinds.length; i++) {
  const d = res[i].map((x, k) => x - res[0][k]); const ratio = res[i].map((x, k) => res[0][k] / x);
  console.log(kinds[i].padEnd(12), med(res[i]).toFixed(2), 'µs', `  −${kinds[0]}: ${med(d).toFixed(2)} (${q(d, .25).toFixed(2)}..${q(d, .75).toFixed(2)})  ${kinds[0]}/this thr: ${med(ratio).toFixed(3)}`);
}
