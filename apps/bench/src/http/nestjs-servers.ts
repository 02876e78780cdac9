import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Provider } from '@nestjs/common';
import type { HttpVariant } from './types.js';

// Nest hello-world (Express platform) with and without a global guard. No limiter ever refuses
// here: the rows measure what admission costs when it says yes.
//
// Two things about running under tsx:
// - esbuild emits no decorator metadata (and, without experimentalDecorators, standard
//   decorators Nest cannot read), so decorators are applied by hand with Reflect.decorate. The
//   sluice guards need no metadata: their constructor parameters carry explicit @Inject tokens.
// - @nestjs/throttler is CommonJS and `require`s Nest, which is ESM. Under tsx that require
//   yields a second copy of @nestjs/core (its Reflector is not the app's), so every Nest
//   package, @sluice/nestjs (its CJS build) included, is loaded with require: one copy for all.
const require = createRequire(import.meta.url);
require('reflect-metadata');
const common = require('@nestjs/common') as typeof import('@nestjs/common');
const core = require('@nestjs/core') as typeof import('@nestjs/core');
const { ExpressAdapter } =
  require('@nestjs/platform-express') as typeof import('@nestjs/platform-express');
const { ThrottlerGuard, ThrottlerModule } =
  require('@nestjs/throttler') as typeof import('@nestjs/throttler');
const { ConcurrencyGuard, RateLimitGuard, SluiceModule } =
  require('@sluice/nestjs') as typeof import('@sluice/nestjs');

type Decorate = (
  decorators: Function[],
  target: object,
  key?: string,
  desc?: PropertyDescriptor,
) => unknown;
const decorate = (Reflect as unknown as { decorate: Decorate }).decorate;

class HelloController {
  hello(): string {
    return 'hello';
  }
}
decorate(
  [common.Get(), common.Header('Content-Type', 'text/plain')],
  HelloController.prototype,
  'hello',
  Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello'),
);
decorate([common.Controller()], HelloController);

function serve(imports: unknown[], guard?: Function): HttpVariant['start'] {
  return async () => {
    class BenchModule {}
    const providers: Provider[] = guard
      ? [{ provide: core.APP_GUARD, useClass: guard as never }]
      : [];
    decorate(
      [common.Module({ imports: imports as never[], controllers: [HelloController], providers })],
      BenchModule,
    );
    const app = await core.NestFactory.create(BenchModule, new ExpressAdapter(), {
      logger: false,
      abortOnError: false,
    });
    app.getHttpAdapter().getInstance().disable('x-powered-by');
    await app.listen(0, '127.0.0.1');
    return {
      port: (app.getHttpServer().address() as AddressInfo).port,
      close: () => app.close(),
    };
  };
}

// Any global guard at all: separates Nest's guard pipeline from what ConcurrencyGuard does.
class NoopGuard {
  canActivate(): boolean {
    return true;
  }
}
decorate([common.Injectable()], NoopGuard);

export const variants: HttpVariant[] = [
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
