import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

const port = Number(process.env.PORT ?? 3000);
// Errors only, on stderr: stdout carries the one "listening on" line.
const app = await NestFactory.create(AppModule, { logger: ['error'] });
app.enableShutdownHooks();
await app.listen(port, '127.0.0.1');
console.log(`listening on ${(app.getHttpServer().address() as AddressInfo).port}`);
