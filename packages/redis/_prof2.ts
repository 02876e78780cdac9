import { Redis } from 'ioredis';
import { RedisLock, RedisStore } from './src/index.js';
import { startRedisServer } from '../../scripts/redis-server.mjs';
const server = await startRedisServer();
const store = new RedisStore({ client: new Redis(server.url, { lazyConnect: true }), commandTimeout: 2000 });
const lock = new RedisLock(store, { name: 'y' });
const N = Number(process.argv[2] ?? 20000);
for (let i = 0; i < N; i++) { const p = await lock.acquire(); await p[Symbol.asyncDispose](); }
await store.close(); await server.stop(); process.exit(0);
