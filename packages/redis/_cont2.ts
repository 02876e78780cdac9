import { Redis } from 'ioredis';
import { RedisLock, RedisStore } from './src/index.js';
import { startRedisServer } from '../../scripts/redis-server.mjs';
const server = await startRedisServer();
const SECONDS = Number(process.argv[2] ?? 2);
const stores: RedisStore[] = [];
const contenders = Array.from({ length: 4 }, () => {
  const store = new RedisStore({ client: new Redis(server.url, { lazyConnect: true }), commandTimeout: 2000 });
  stores.push(store);
  return new RedisLock(store, { name: 'c' });
});
for (const c of contenders) await (await c.acquire())[Symbol.asyncDispose]();
let cycles = 0;
const cpu0 = process.cpuUsage();
const end = performance.now() + SECONDS * 1000;
const start = performance.now();
await Promise.all(contenders.map(async (lock) => {
  while (performance.now() < end) { const p = await lock.acquire(); cycles++; await p[Symbol.asyncDispose](); }
}));
const cu = process.cpuUsage(cpu0);
console.log('cpu µs/cycle user', (cu.user / cycles).toFixed(0), 'sys', (cu.system / cycles).toFixed(0), 'cycles/s', (cycles / ((performance.now() - start) / 1000)).toFixed(0));
for (const s of stores) await s.close();
await server.stop(); process.exit(0);
