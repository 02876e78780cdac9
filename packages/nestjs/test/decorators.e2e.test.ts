import { Controller, Get, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Semaphore } from '@sluice/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Concurrency,
  ConcurrencyGuard,
  getLimiterToken,
  SkipConcurrency,
  SluiceModule,
} from '../src/index.js';
import { boot, get, platforms, type TestApp } from './helpers.js';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

/** The limits a response went through, read from its RateLimit-Policy header: name -> quota. */
function policies(headers: Headers): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of (headers.get('ratelimit-policy') ?? '').split(',')) {
    const m = /"([^"]+)";q=(\d+)/.exec(item);
    if (m) out[m[1] as string] = Number(m[2]);
  }
  return out;
}

@Controller('plain')
class PlainController {
  @Get()
  plain() {
    return 'plain';
  }
  @Get('reports')
  @Concurrency('reports')
  reports() {
    return 'reports';
  }
  @Get('skip-all')
  @Concurrency('reports')
  @SkipConcurrency()
  skipAll() {
    return 'skip-all';
  }
  @Get('skip-reports')
  @Concurrency('reports')
  @SkipConcurrency({ reports: true })
  skipReports() {
    return 'skip-reports';
  }
  @Get('skip-default')
  @Concurrency('reports')
  @SkipConcurrency('default')
  skipDefault() {
    return 'skip-default';
  }
}

@Controller('own')
@Concurrency({ limit: 3, headers: true, name: 'controller' })
class OwnController {
  @Get()
  controllerLimit() {
    return 'controller';
  }
  @Get('method')
  @Concurrency({ limit: 1, headers: true, name: 'method' })
  methodLimit() {
    return 'method';
  }
  @Get('unskipped')
  @SkipConcurrency({ reports: false })
  @Concurrency('reports')
  unskipped() {
    return 'unskipped';
  }
}

@Controller('skipped')
@SkipConcurrency()
class SkippedController {
  @Get()
  skipped() {
    return 'skipped';
  }
  @Get('but-default')
  @SkipConcurrency({ default: false })
  butDefault() {
    return 'but-default';
  }
}

@Controller('twice')
@UseGuards(ConcurrencyGuard)
class TwiceController {
  @Get()
  @Concurrency('single')
  @UseGuards(ConcurrencyGuard)
  twice() {
    return 'twice';
  }
}

describe.each(platforms)('decorators on %s', (platform) => {
  async function app() {
    current = await boot(platform, {
      imports: [
        SluiceModule.forRoot({
          concurrency: {
            default: { limit: 10, headers: true },
            reports: { limit: 2, headers: true },
            single: { limit: 1, timeout: 0 },
          },
        }),
      ],
      controllers: [PlainController, OwnController, SkippedController, TwiceController],
      providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
    });
    return current.url;
  }

  it('applies the module default of 10 to every route the guard sees', async () => {
    const url = await app();
    const a = await get(`${url}/plain`);
    expect(a.status).toBe(200);
    expect(policies(a.headers)).toEqual({ concurrency: 10 });
    expect(a.headers.get('ratelimit')).toBe('"concurrency";r=9;t=0');
  });

  it('a named limiter adds to the default', async () => {
    const url = await app();
    expect(policies((await get(`${url}/plain/reports`)).headers)).toEqual({
      concurrency: 10,
      reports: 2,
    });
  });

  it('@Concurrency on a controller replaces the default; on a method it wins', async () => {
    const url = await app();
    expect(policies((await get(`${url}/own`)).headers)).toEqual({ controller: 3 });
    expect(policies((await get(`${url}/own/method`)).headers)).toEqual({ method: 1 });
    expect(policies((await get(`${url}/own/unskipped`)).headers)).toEqual({
      controller: 3,
      reports: 2,
    });
  });

  it('a bare @SkipConcurrency() skips every limiter; names skip only those', async () => {
    const url = await app();
    const all = await get(`${url}/plain/skip-all`);
    expect(all.status).toBe(200);
    expect(all.headers.get('ratelimit-policy')).toBeNull();
    expect(policies((await get(`${url}/plain/skip-reports`)).headers)).toEqual({ concurrency: 10 });
    expect(policies((await get(`${url}/plain/skip-default`)).headers)).toEqual({ reports: 2 });
    expect((await get(`${url}/skipped`)).headers.get('ratelimit-policy')).toBeNull();
    expect(policies((await get(`${url}/skipped/but-default`)).headers)).toEqual({
      concurrency: 10,
    });
  });

  it('the guard registered globally, on the controller and on the route acquires once', async () => {
    const url = await app();
    const single = current?.app.get<Semaphore>(getLimiterToken('single'));
    // limit 1 and timeout 0: a second acquire for the same request would be refused at once.
    const a = await get(`${url}/twice`);
    expect(a.status).toBe(200);
    expect(a.body).toBe('twice');
    expect(single?.stats()).toMatchObject({ acquired: 1, timedOut: 0, rejected: 0 });
  });
});
