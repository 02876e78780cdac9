// @sluice/nestjs's ConcurrencyGuard with a RedisSemaphore as a named limiter of the module
// options (`@Concurrency('fleet')`), on Nest's Express platform: the shared suite (two apps
// share one limit, clients that hang up leak nothing, 503 `unavailable` while Redis is
// paused), over both clients.
import 'reflect-metadata';
import { Controller, Get, Module, Query, Req } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import {
  Concurrency,
  ConcurrencyGuard,
  InjectLimiter,
  type Limiter,
  SluiceModule,
  type SluiceRequestInfo,
} from '@sluice/nestjs';
import { expect } from 'vitest';
import {
  httpSemaphoreSuite,
  type WorkSeen,
} from '../../../packages/redis/test/http-semaphore-suite.js';

/** The suite's record of the current test (one Nest app per instance, one test at a time). */
let seen: WorkSeen;

@Controller()
class WorkController {
  constructor(@InjectLimiter('fleet') readonly fleet: Limiter) {}

  @Get('work')
  @Concurrency('fleet')
  work(
    @Query() query: Record<string, string | undefined>,
    @Req() req: { sluice: SluiceRequestInfo },
  ) {
    return seen.work(query, req.sluice.signal);
  }
}

httpSemaphoreSuite("ConcurrencyGuard with @Concurrency('fleet')", async (limit, current) => {
  seen = current;
  @Module({
    imports: [SluiceModule.forRoot({ concurrency: { fleet: { limit, timeout: 5000 } } })],
    controllers: [WorkController],
    providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
  })
  class FleetModule {}
  const app = await NestFactory.create(FleetModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  // The very instance the guard admits through (@InjectLimiter), not a copy.
  expect(app.get(WorkController).fleet).toBe(limit);
  return {
    url: `http://127.0.0.1:${app.getHttpServer().address().port}`,
    close: async () => {
      // fetch keeps spare sockets that never carry a request; they would hold close() ~4 s.
      app.getHttpServer().closeAllConnections();
      await app.close();
    },
  };
});
