import { Redis } from 'ioredis';
import { startRedisServer } from '../../scripts/redis-server.mjs';
import { Mutex } from '../../apps/bench/node_modules/redis-semaphore/lib/index.js';
const server = await startRedisServer();
const SECONDS = Number(process.argv[2] ?? 2);
const clients = Array.from({ length: 4 }, () => new Redis(server.url));
let cycles = 0;
const cpu0 = process.cpuUsage();
const end = performance.now() + SECONDS * 1000;
const start = performance.now();
await Promise.all(clients.map(async (c) => {
  while (performance.now() < end) { const m = new Mutex(c, 'c', { acquireTimeout: 60_000, lockTimeout: 10_000 }); await m.acquire(); cycles++; await m.release(); }
}));
const cu = process.cpuUsage(cpu0);
console.log('rs cpu µs/cycle user', (cu.user / cycles).toFixed(0), 'sys', (cu.system / cycles).toFixed(0), 'cycles/s', (cycles / ((performance.now() - start) / 1000)).toFixed(0));
for (const c of clients) c.disconnect();
await server.stop(); process.exit(0);
