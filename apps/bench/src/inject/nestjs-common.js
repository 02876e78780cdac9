// @ts-check
// Nest hello-world apps for the in-process bench, on either platform. Plain JavaScript, run
// without tsx, for the reason ../http/nestjs-servers.js gives (tsx's require hook would
// recompile Nest with keepNames and load a second copy). Decorators are applied with
// Reflect.decorate. No limiter ever refuses here.
import 'reflect-metadata';
import { Controller, Get, Header, Injectable, Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import throttler from '@nestjs/throttler';
import { ConcurrencyGuard, RateLimitGuard, SluiceModule } from '@sluice/nestjs';
import { queuedLimit } from './queued-limit.js';

const { ThrottlerGuard, ThrottlerModule } = throttler;

/** @type {(decorators: Function[], target: object, key?: string, desc?: PropertyDescriptor) => unknown} */
export const decorate = /** @type {any} */ (Reflect).decorate;

/**
 * `GET /` -> `hello` as text/plain; `seen` is called per request (the queued rows' probe).
 * Shared with the socket-level servers (../http/nestjs-servers.js).
 * @param {(() => void) | undefined} [seen]
 */
export function helloController(seen) {
  class HelloController {
    hello() {
      seen?.();
      return 'hello';
    }
  }
  decorate(
    [Get(), Header('Content-Type', 'text/plain')],
    HelloController.prototype,
    'hello',
    Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello'),
  );
  decorate([Controller()], HelloController);
  return HelloController;
}

// Any global guard at all: separates Nest's guard pipeline from what the sluice guards do.
export class NoopGuard {
  canActivate() {
    return true;
  }
}
decorate([Injectable()], NoopGuard);

/**
 * @typedef {{
 *   adapter(): any,
 *   request(app: any): Promise<number>,
 * }} Platform
 */

/**
 * @param {Platform} platform
 * @param {unknown[]} imports
 * @param {Function | undefined} guard
 * @param {{ seen?: () => void, check?: () => string | undefined }} [extra]
 * @returns {Promise<import('./types.js').InjectApp>}
 */
async function start(platform, imports, guard, extra = {}) {
  class BenchModule {}
  const providers = guard ? [{ provide: APP_GUARD, useClass: guard }] : [];
  decorate(
    [
      Module({
        imports: /** @type {any[]} */ (imports),
        controllers: [helloController(extra.seen)],
        providers: /** @type {any[]} */ (providers),
      }),
    ],
    BenchModule,
  );
  const app = await NestFactory.create(BenchModule, platform.adapter(), {
    logger: false,
    abortOnError: false,
  });
  await app.init();
  const instance = app.getHttpAdapter().getInstance();
  if (typeof instance.ready === 'function') await instance.ready();
  return {
    request: () => platform.request(instance),
    ...(extra.check ? { check: extra.check } : {}),
    close: () => app.close(),
  };
}

/**
 * The six rows, the same on both platforms.
 * @param {Platform} platform
 * @returns {import('./types.js').InjectVariant[]}
 */
export function nestVariants(platform) {
  return [
    { name: 'bare', kind: 'bare', start: () => start(platform, [], undefined) },
    { name: 'noop guard', kind: 'noop', start: () => start(platform, [], NoopGuard) },
    {
      name: 'sluice concurrency',
      kind: 'concurrency',
      start: () =>
        start(
          platform,
          [SluiceModule.forRoot({ concurrency: { default: { limit: 10_000 } } })],
          ConcurrencyGuard,
        ),
    },
    {
      name: 'sluice concurrency, limit 10 (queued)',
      kind: 'queued',
      start: () => {
        const q = queuedLimit();
        return start(
          platform,
          [SluiceModule.forRoot({ concurrency: { default: { limit: q.sem, timeout: 60_000 } } })],
          ConcurrencyGuard,
          q,
        );
      },
    },
    {
      // One key (the mock client's address); sends its RateLimit headers (the default).
      name: 'sluice rateLimit',
      kind: 'rateLimit',
      start: () =>
        start(
          platform,
          [
            SluiceModule.forRoot({
              rateLimit: { default: { capacity: 1e9, refillPerSecond: 1e9 } },
            }),
          ],
          RateLimitGuard,
        ),
    },
    {
      // A 60 s window, like the socket table's row (see ../http/nestjs-servers.js).
      name: '@nestjs/throttler',
      kind: 'peer',
      start: () =>
        start(platform, [ThrottlerModule.forRoot([{ ttl: 60_000, limit: 1e9 }])], ThrottlerGuard),
    },
  ];
}
