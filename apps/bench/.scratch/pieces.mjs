import { KeyedTokenBucket } from '@sluice/core';
import { tokenBucketHeaders } from '@sluice/core/http';
const N = 1_000_000;
function time(label, fn) { for (let i = 0; i < 100000; i++) fn(i); const t = process.cpuUsage(); let x; for (let i = 0; i < N; i++) x = fn(i); const u = process.cpuUsage(t); console.log(label.padEnd(40), ((u.user + u.system) / N * 1000).toFixed(0), 'ns'); return x; }
const b = new KeyedTokenBucket({ capacity: 1e9, refillPerSecond: 1e9 });
time('tryTake', () => b.tryTake('bench', 1));
time('tokenBucketHeaders', (i) => tokenBucketHeaders('rate-limit', 1e9, 1e9, 999999999 - (i & 7)));
const h = { 'RateLimit-Policy': '"rate-limit";q=1000000000;w=1', RateLimit: '"rate-limit";r=999999999;t=1' };
time('new Headers + 2 set', () => { const x = new Headers(); x.set('RateLimit-Policy', h['RateLimit-Policy']); x.set('RateLimit', h.RateLimit); return x; });
const r = new Response('hello', { headers: h });
time('res.headers.get(RateLimit)', () => r.headers.get('RateLimit') === h.RateLimit);
time('new Response(text, {headers: Headers})', () => new Response('hello', { status: 200, headers: new Headers(h) }));
time('new Response(text)', () => new Response('hello'));
time('template r/t', (i) => `"rate-limit";r=${999999999 - (i & 7)};t=${1}`);
