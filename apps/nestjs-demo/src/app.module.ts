import {
  type DynamicModule,
  Inject,
  Module,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ConcurrencyGuard, type RateLimiter, RateLimitGuard, SluiceModule } from '@sluice/nestjs';
import { DashboardController } from './dashboard.controller.js';
import { HelloController } from './hello.controller.js';
import { StatsController } from './stats.controller.js';
import { WorkController } from './work.controller.js';

/** What main.ts (or a test) hands the demo; without anything, every limit is in memory. */
export interface DemoOptions {
  /**
   * The /api/hello limiter, of the contract's settings (capacity 5, 1 per second; the module
   * refuses others). main.ts passes a RedisKeyedTokenBucket when REDIS_URL is set, so several
   * instances share one limit. Default: an in-memory KeyedTokenBucket.
   */
  hello?: RateLimiter<string>;
  /** Closed when the application shuts down, once the HTTP server has stopped (a RedisStore). */
  store?: { close(): Promise<void> };
}

const DEMO_STORE = Symbol('DEMO_STORE');

/** The demo HTTP contract, the same in every framework's demo. Use `AppModule.forRoot()`. */
@Module({
  controllers: [WorkController, HelloController, StatsController, DashboardController],
  providers: [
    // Rate limit first: a client over its rate never takes a concurrency permit.
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: ConcurrencyGuard },
  ],
})
export class AppModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(DEMO_STORE) private readonly store?: DemoOptions['store']) {}

  static forRoot(options: DemoOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SluiceModule.forRoot({
          // Named, so /stats can inject the very Semaphore the guard admits /work through.
          concurrency: { work: { limit: 4, maxWaiting: 8, timeout: 1000 } },
          // Named, so the limiter can come from outside (Redis); the policy name stays the
          // contract's ("rate-limit"), as the other demos send it.
          rateLimit: {
            hello: { capacity: 5, refillPerSecond: 1, limiter: options.hello, name: 'rate-limit' },
          },
        }),
      ],
      providers: options.store ? [{ provide: DEMO_STORE, useValue: options.store }] : [],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store?.close();
  }
}
