// @ts-check
// Nest hello-world (Express platform) with and without a global guard. No limiter ever refuses
// here: the rows measure what admission costs when it says yes.
//
// Plain JavaScript, run without tsx (see serve.js): Nest 12 is ESM, and @nestjs/throttler is
// CommonJS that `require`s it. Under tsx that require recompiles Nest with esbuild's keepNames,
// which wraps every closure Nest makes per request in a `__name` call (ExecutionContextHost's
// `switchToHttp()` makes three), and yields a second copy of Nest. Plain Node's require(esm)
// shares the one copy `import` loads, untouched. No decorator syntax: they are applied with
// Reflect.decorate; the sluice guards' constructor parameters carry explicit @Inject tokens.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import throttler from '@nestjs/throttler';
import { ConcurrencyGuard, RateLimitGuard, SluiceModule } from '@sluice/nestjs';
import { decorate, helloController, NoopGuard } from '../inject/nestjs-common.js';

const { ThrottlerGuard, ThrottlerModule } = throttler;

const HelloController = helloController();

/**
 * @param {unknown[]} imports
 * @param {Function} [guard]
 * @returns {import('./types.js').HttpVariant['start']}
 */
function serve(imports, guard) {
  return async () => {
    class BenchModule {}
    const providers = guard ? [{ provide: APP_GUARD, useClass: guard }] : [];
    decorate(
      [
        Module({
          imports: /** @type {any[]} */ (imports),
          controllers: [HelloController],
          providers: /** @type {any[]} */ (providers),
        }),
      ],
      BenchModule,
    );
    const app = await NestFactory.create(BenchModule, new ExpressAdapter(), {
      logger: false,
      abortOnError: false,
    });
    app.getHttpAdapter().getInstance().disable('x-powered-by');
    await app.listen(0, '127.0.0.1');
    return {
      port: /** @type {import('node:net').AddressInfo} */ (app.getHttpServer().address()).port,
      close: () => app.close(),
    };
  };
}

/** @type {import('./types.js').HttpVariant[]} */
export const variants = [
  { name: 'bare', start: serve([]) },
  { name: 'noop guard', start: serve([], NoopGuard) },
  {
    name: 'sluice concurrency',
    start: serve(
      [SluiceModule.forRoot({ concurrency: { default: { limit: 10_000 } } })],
      ConcurrencyGuard,
    ),
  },
  {
    // Sends its RateLimit headers (the default), as throttler sends its X-RateLimit ones.
    name: 'sluice rateLimit',
    start: serve(
      [SluiceModule.forRoot({ rateLimit: { default: { capacity: 1e9, refillPerSecond: 1e9 } } })],
      RateLimitGuard,
    ),
  },
  {
    // A 60 s window, like the express-rate-limit row. Throttler 6's in-memory storage keeps one
    // expiry timestamp per hit in the window and filters that list on every request, so its cost
    // grows with the request rate times the window (a shorter ttl would flatter it).
    name: '@nestjs/throttler',
    start: serve([ThrottlerModule.forRoot([{ ttl: 60_000, limit: 1e9 }])], ThrottlerGuard),
  },
];
