import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { RedisKeyedTokenBucket, RedisStore } from '@sluice/redis';
import { createClient } from 'redis';
import { AppModule } from './app.module.js';

const port = Number(process.env.PORT ?? 3000);
// With REDIS_URL, /api/hello's limit is shared by every instance on that Redis; the module
// closes the store at shutdown.
const store = process.env.REDIS_URL
  ? new RedisStore({ client: createClient({ url: process.env.REDIS_URL }) })
  : undefined;
const hello =
  store && new RedisKeyedTokenBucket(store, { name: 'hello', capacity: 5, refillPerSecond: 1 });
// Errors only, on stderr: stdout carries the one "listening on" line.
const app = await NestFactory.create(AppModule.forRoot({ hello, store }), { logger: ['error'] });
app.enableShutdownHooks();
await app.listen(port, '127.0.0.1');
console.log(`listening on ${(app.getHttpServer().address() as AddressInfo).port}`);
