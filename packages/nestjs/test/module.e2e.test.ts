import { Controller, Get, Inject, Injectable, Module, UseInterceptors } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Concurrency,
  ConcurrencyGuard,
  ConcurrencyInterceptor,
  InjectLimiter,
  KeyedTokenBucket,
  RateLimit,
  RateLimitGuard,
  Semaphore,
  SluiceLimiters,
  SluiceModule,
  type SluiceModuleOptions,
  type SluiceOptionsFactory,
} from '../src/index.js';
import { boot, gate, get, platforms, sleep, type TestApp, until } from './helpers.js';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

const CONFIG = Symbol('CONFIG');

@Module({
  providers: [{ provide: CONFIG, useValue: { sharedLimit: 1, helloCapacity: 2 } }],
  exports: [CONFIG],
})
class ConfigModule {}

@Injectable()
class ReportService {
  constructor(@InjectLimiter('shared') readonly limiter: Semaphore) {}

  render<T>(work: () => Promise<T>): Promise<T> {
    return this.limiter.run(work);
  }
}

@Controller()
class SharedController {
  constructor(@Inject(ReportService) private readonly reports: ReportService) {}

  @Get('report')
  @Concurrency('shared')
  report() {
    return 'route';
  }

  @Get('via-service')
  viaService() {
    return this.reports.render(async () => 'service');
  }

  @Get('hello')
  @RateLimit('hello')
  hello() {
    return 'hello';
  }
}

function optionsFrom(config: { sharedLimit: number; helloCapacity: number }): SluiceModuleOptions {
  return {
    concurrency: { shared: { limit: config.sharedLimit, timeout: 50 } },
    rateLimit: { hello: { capacity: config.helloCapacity, refillPerSecond: 0.01 } },
  };
}

@Injectable()
class SluiceConfig implements SluiceOptionsFactory {
  constructor(
    @Inject(CONFIG) private readonly config: { sharedLimit: number; helloCapacity: number },
  ) {}
  createSluiceOptions() {
    return optionsFrom(this.config);
  }
}

@Module({
  imports: [ConfigModule],
  providers: [SluiceConfig],
  exports: [SluiceConfig],
})
class SluiceConfigModule {}

const variants = {
  useFactory: () =>
    SluiceModule.forRootAsync({
      imports: [ConfigModule],
      inject: [CONFIG],
      useFactory: async (config: { sharedLimit: number; helloCapacity: number }) =>
        optionsFrom(config),
    }),
  useClass: () => SluiceModule.forRootAsync({ imports: [ConfigModule], useClass: SluiceConfig }),
  useExisting: () =>
    SluiceModule.forRootAsync({ imports: [SluiceConfigModule], useExisting: SluiceConfig }),
};

describe.each(platforms)('SluiceModule on %s', (platform) => {
  it.each(Object.keys(variants) as Array<keyof typeof variants>)(
    'forRootAsync(%s): a service and a route share the limiter @InjectLimiter gives',
    async (variant) => {
      current = await boot(platform, {
        imports: [variants[variant]()],
        controllers: [SharedController],
        providers: [
          ReportService,
          { provide: APP_GUARD, useClass: ConcurrencyGuard },
          { provide: APP_GUARD, useClass: RateLimitGuard },
        ],
      });
      const service = current.app.get(ReportService);
      const limiters = current.app.get(SluiceLimiters);
      expect(service.limiter).toBeInstanceOf(Semaphore);
      expect(service.limiter).toBe(limiters.concurrency('shared'));
      expect(service.limiter.capacity).toBe(1);

      expect((await get(`${current.url}/via-service`)).body).toBe('service');
      const busy = gate();
      const held = service.render(() => busy.promise);
      await until(() => service.limiter.inUse === 1, 3000, 'service to hold the permit');
      const refused = await get(`${current.url}/report`);
      expect(refused.status).toBe(503);
      expect(refused.body.reason).toBe('queue_timeout');
      busy.open();
      await held;
      expect((await get(`${current.url}/report`)).status).toBe(200);

      // The rate limit came from the factory too: capacity 2.
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(`${current.url}/hello`)).status);
      expect(statuses).toEqual([200, 200, 429]);
    },
  );

  it('ConcurrencyInterceptor holds the permit until the handler settles', async () => {
    const running = gate();
    const finish = gate();
    @Controller()
    class C {
      @Get('intercepted')
      @UseInterceptors(ConcurrencyInterceptor)
      @Concurrency({ limit: 1, timeout: 0 })
      async intercepted() {
        running.open();
        await finish.promise;
        return 'done';
      }
    }
    current = await boot(platform, { imports: [SluiceModule.forRoot()], controllers: [C] });
    const first = get(`${current.url}/intercepted`);
    await running.promise;
    const second = await get(`${current.url}/intercepted`);
    expect(second.status).toBe(503);
    expect(second.headers.get('content-type')).toBe('application/problem+json');
    expect(second.body.reason).toBe('queue_timeout');
    finish.open();
    expect((await first).body).toBe('done');
    await sleep(10);
    expect((await get(`${current.url}/intercepted`)).status).toBe(200);
  });
});

describe('options are checked up front', () => {
  it('forRoot names the bad option', () => {
    expect(
      () => SluiceModule.forRoot({ concurrency: { default: { limit: -1 } } }).providers,
    ).not.toThrow();
    expect(() => new SluiceLimiters({ concurrency: { default: { limit: -1 } } })).toThrow(
      /`options\.concurrency\.default\.limit`.*-1/,
    );
    expect(
      () => new SluiceLimiters({ rateLimit: { api: { capacity: 5, refillPerSecond: 0 } } }),
    ).toThrow(/`options\.rateLimit\.api\.refillPerSecond`/);
    expect(
      () => new SluiceLimiters({ concurrency: { x: { limit: 1, timeout: Number.NaN } } }),
    ).toThrow(/`options\.concurrency\.x\.timeout`/);
  });

  it('rejects options that an instance would silently override (the same rule in every adapter)', () => {
    const shared = new Semaphore(1);
    expect(() => Concurrency({ limit: shared, maxWaiting: 3 })).toThrow(
      /`@Concurrency\(\)\.maxWaiting` to be left out.*got 3/,
    );
    expect(() => Concurrency({ limit: shared, key: () => 'k' })).toThrow(
      /`@Concurrency\(\)\.key` to be left out/,
    );
    const bucket = new KeyedTokenBucket({ capacity: 5, refillPerSecond: 1 });
    expect(() => RateLimit({ limiter: bucket, capacity: 6 })).toThrow(
      /`@RateLimit\(\)\.capacity` to equal the `@RateLimit\(\)\.limiter`'s 5.*got 6/,
    );
    expect(() => RateLimit({ limiter: bucket, capacity: 5, refillPerSecond: 1 })).not.toThrow();
  });

  it('decorators check their arguments when applied', () => {
    expect(() => Concurrency({ limit: 'many' as unknown as number })).toThrow(
      /`@Concurrency\(\)\.limit`/,
    );
    expect(() => RateLimit({ capacity: 0, refillPerSecond: 1 })).toThrow(
      /`@RateLimit\(\)\.capacity`/,
    );
    expect(() => Concurrency('has space')).toThrow(/name/);
  });

  it('an unknown limiter name fails with a message that says what to configure', () => {
    expect(() => new SluiceLimiters({}).concurrency('reports')).toThrow(
      /No concurrency limiter named "reports"/,
    );
  });
});
