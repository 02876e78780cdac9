import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ConcurrencyGuard, RateLimitGuard, SluiceModule } from '@sluice/nestjs';
import { DashboardController } from './dashboard.controller.js';
import { HelloController } from './hello.controller.js';
import { StatsController } from './stats.controller.js';
import { WorkController } from './work.controller.js';

/** The demo HTTP contract, the same in every framework's demo. */
@Module({
  imports: [
    SluiceModule.forRoot({
      // Named, so /stats can inject the very Semaphore the guard admits /work through.
      concurrency: { work: { limit: 4, maxWaiting: 8, timeout: 1000 } },
    }),
  ],
  controllers: [WorkController, HelloController, StatsController, DashboardController],
  providers: [
    // Rate limit first: a client over its rate never takes a concurrency permit.
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: ConcurrencyGuard },
  ],
})
export class AppModule {}
