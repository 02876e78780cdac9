// Child process of redis-bench.ts: `node --import tsx src/redis-http-server.ts <variant> <redisUrl>`.
// An Express hello-world behind a rate limit kept in Redis (node-redis client); prints
// `{"port": n}` once listening, serves until SIGTERM. The limit is far above the load.
import type { AddressInfo } from 'node:net';
import { rateLimit } from '@sluice/express';
import { RedisKeyedTokenBucket, RedisStore as SluiceRedisStore } from '@sluice/redis';
import express, { type RequestHandler } from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import { type RedisReply, RedisStore } from 'rate-limit-redis';
import { createClient } from 'redis';

const [variant, url] = process.argv.slice(2);
const client = createClient({ url });
await client.connect();

let limiter: RequestHandler;
if (variant === 'sluice rateLimit + RedisKeyedTokenBucket') {
  const store = new SluiceRedisStore({ client });
  const bucket = new RedisKeyedTokenBucket(store, {
    name: 'http',
    capacity: 1_000_000_000,
    refillPerSecond: 1_000_000_000,
  });
  limiter = rateLimit({ limiter: bucket });
} else if (variant === 'express-rate-limit + rate-limit-redis') {
  limiter = expressRateLimit({
    windowMs: 60_000,
    limit: 1_000_000_000,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: new RedisStore({
      sendCommand: (...args: string[]) => client.sendCommand(args) as Promise<RedisReply>,
    }),
  });
} else {
  throw new Error(`unknown variant ${variant}`);
}

const app = express();
app.disable('x-powered-by');
app.get('/', limiter, (_req, res) => {
  res.type('text/plain').send('hello');
});
const server = app.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
