// Scratch: the middleware alone on one reused Hono Context (no Request/Response per call).
import { rateLimit } from '@sluice/hono';
import { Context } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
const oneKey = () => 'bench';
const only = process.env.ONLY;
const mws0 = {
  noop: async function noop(_c, next) { await next(); },
  rateLimit: rateLimit({ capacity: 1e9, refillPerSecond: 1e9, key: oneKey }),
  peer: rateLimiter({ windowMs: 60_000, limit: 1e9, standardHeaders: 'draft-7', keyGenerator: oneKey }),
};
const mws = only ? { [only]: mws0[only] } : mws0;
const next = async () => {};
const N = 200_000;
const res = Object.fromEntries(Object.keys(mws).map((k) => [k, []]));
for (let round = 0; round < 15; round++) {
  for (const [k, mw] of Object.entries(mws)) {
    const c = new Context(new Request('http://localhost/'));
    const t = process.cpuUsage();
    for (let i = 0; i < N; i++) await mw(c, next);
    const u = process.cpuUsage(t);
    if (round > 2) res[k].push(((u.user + u.system) / N) * 1000);
  }
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
for (const [k, v] of Object.entries(res)) console.log(k.padEnd(10), med(v).toFixed(0), 'ns/call');
