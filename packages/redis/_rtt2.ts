import { Redis } from 'ioredis';
import { RedisLock, RedisStore } from './src/index.js';
import { acquireCall, leaveCall, semaphoreKeys } from './src/internal/semaphore-scripts.js';
import { startRedisServer } from '../../scripts/redis-server.mjs';
import { Mutex } from '../../apps/bench/node_modules/redis-semaphore/lib/index.js';
const server = await startRedisServer();
const r = new Redis(server.url);
const N = 3000;
async function time(name: string, fn: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 300; i++) await fn(i);
  const c = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < N; i++) await fn(i);
  const u = process.cpuUsage(c);
  console.log(name.padEnd(30), 'wall', (((performance.now() - t) * 1000) / N).toFixed(0).padStart(5), 'µs  cpu user', (u.user / N).toFixed(0).padStart(4), 'sys', (u.system / N).toFixed(0).padStart(4));
}
const store = new RedisStore({ client: new Redis(server.url, { lazyConnect: true }), commandTimeout: 2000 });
const at = semaphoreKeys(store, 'z');
const lock = new RedisLock(store, { name: 'y' });
const rs = new Redis(server.url);
for (let round = 0; round < 2; round++) {
  await time('2 pings', async () => { await r.ping(); await r.ping(); });
  await time('store acquireCall+leaveCall', async (i) => { const id = 'abcdefabcdefabcdefabcdefabcdef' + i; await acquireCall(store, at, { capacity: 1, weight: 1, id, lease: 10000, waiterTtl: 3000, queue: true, maxWaiting: -1 }); await leaveCall(store, at, id); });
  await time('sluice cycle', async () => { const p = await lock.acquire(); await p[Symbol.asyncDispose](); });
  await time('redis-semaphore cycle', async () => { const m = new Mutex(rs, 'q', { acquireTimeout: 60_000, lockTimeout: 10_000 }); await m.acquire(); await m.release(); });
}
await store.close();
r.disconnect(); rs.disconnect(); await server.stop(); process.exit(0);
