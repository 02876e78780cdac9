import { Redis } from 'ioredis';
import { startRedisServer } from '../../scripts/redis-server.mjs';
import { Mutex } from '../../apps/bench/node_modules/redis-semaphore/lib/index.js';
const server = await startRedisServer();
const rs = new Redis(server.url);
const N = Number(process.argv[2] ?? 20000);
const c = process.cpuUsage(); const t = performance.now();
for (let i = 0; i < N; i++) { const m = new Mutex(rs, 'q', { acquireTimeout: 60_000, lockTimeout: 10_000 }); await m.acquire(); await m.release(); }
const u = process.cpuUsage(c);
console.log('rs', ((performance.now() - t) * 1000 / N).toFixed(0), (u.user / N).toFixed(0), (u.system / N).toFixed(0));
rs.disconnect(); await server.stop(); process.exit(0);
