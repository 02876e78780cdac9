import {
  type ArgumentsHost,
  Catch,
  Controller,
  type ExceptionFilter,
  Get,
  Query,
  UseFilters,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Concurrency,
  ConcurrencyGuard,
  type Semaphore,
  SluiceLimiters,
  SluiceModule,
  SluiceRejectedException,
} from '../src/index.js';
import { boot, gate, get, platforms, type TestApp, until } from './helpers.js';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe.each(platforms)('concurrency options on %s', (platform) => {
  it('a per-client limit (key) refuses with 429, other clients unaffected', async () => {
    const release = gate();
    let entered = 0;
    @Controller()
    class C {
      @Get('mine')
      @Concurrency({ limit: 1, maxWaiting: 0, key: (req) => req.headers['x-user'] })
      async mine() {
        entered++;
        await release.promise;
        return 'ok';
      }
    }
    current = await boot(platform, {
      imports: [SluiceModule.forRoot()],
      controllers: [C],
      providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
    });
    const as = (user: string) => get(`${current?.url}/mine`, { headers: { 'x-user': user } });
    const first = as('ann');
    await until(() => entered === 1, 3000, 'ann admitted');
    const again = await as('ann');
    expect(again.status).toBe(429);
    expect(again.body).toMatchObject({ status: 429, reason: 'queue_full' });
    const bob = as('bob');
    await until(() => entered === 2, 3000, 'bob admitted');
    release.open();
    expect((await first).status).toBe(200);
    expect((await bob).status).toBe(200);
  });

  it('onRejected may write the answer itself; nothing is written twice', async () => {
    const release = gate();
    let holding = false;
    @Controller()
    class C {
      @Get('custom')
      @Concurrency({
        limit: 1,
        maxWaiting: 0,
        onRejected: (context, rejection) => {
          const res = context.switchToHttp().getResponse();
          if (typeof res.code === 'function') {
            res.code(599).header('content-type', 'text/plain').send(`busy ${rejection.reason}`);
          } else {
            res.status(599).type('text/plain').send(`busy ${rejection.reason}`);
          }
        },
      })
      async custom(@Query('hold') hold?: string) {
        if (hold) {
          holding = true;
          await release.promise;
        }
        return 'ok';
      }
    }
    current = await boot(platform, {
      imports: [SluiceModule.forRoot()],
      controllers: [C],
      providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
    });
    const held = get(`${current.url}/custom?hold=1`);
    await until(() => holding, 3000, 'the first request to hold the permit');
    const refused = await get(`${current.url}/custom`);
    expect(refused.status).toBe(599);
    expect(refused.body).toBe('busy queue_full');
    release.open();
    expect((await held).status).toBe(200);
    // The server is still healthy (no crash from a double write).
    expect((await get(`${current.url}/custom`)).status).toBe(200);
  });

  it('app.close() refuses what is still queued with 503 closed', async () => {
    const release = gate();
    let entered = 0;
    @Controller()
    class C {
      @Get('slow')
      async slow() {
        entered++;
        await release.promise;
        return 'ok';
      }
    }
    current = await boot(platform, {
      imports: [SluiceModule.forRoot({ concurrency: { default: { limit: 1 } } })],
      controllers: [C],
      providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
    });
    const limiters = current.app.get(SluiceLimiters);
    const sem = limiters.concurrency('default') as Semaphore;
    const first = get(`${current.url}/slow`);
    await until(() => entered === 1, 3000, 'first admitted');
    const queued = get(`${current.url}/slow`);
    await until(() => sem.waiting === 1, 3000, 'second queued');
    limiters.onApplicationShutdown('test');
    const closed = await queued;
    expect(closed.status).toBe(503);
    expect(closed.body.reason).toBe('closed');
    release.open();
    expect((await first).status).toBe(200);
  });

  it('a filter of the application for SluiceRejectedException answers instead, headers kept', async () => {
    @Catch(SluiceRejectedException)
    class MyFilter implements ExceptionFilter {
      catch(exception: SluiceRejectedException, host: ArgumentsHost) {
        const res = host.switchToHttp().getResponse();
        const body = { error: exception.rejection.reason };
        if (typeof res.code === 'function') res.code(exception.getStatus()).send(body);
        else res.status(exception.getStatus()).json(body);
      }
    }
    @Controller()
    @UseFilters(MyFilter)
    class C {
      @Get('none')
      @Concurrency({ limit: 0, timeout: 0 })
      none() {
        return 'never';
      }
    }
    current = await boot(platform, {
      imports: [SluiceModule.forRoot()],
      controllers: [C],
      providers: [{ provide: APP_GUARD, useClass: ConcurrencyGuard }],
    });
    const a = await get(`${current.url}/none`);
    expect(a.status).toBe(503);
    expect(a.headers.get('content-type')).toMatch(/^application\/json/);
    expect(a.headers.get('retry-after')).toBe('1');
    expect(a.body).toEqual({ error: 'queue_timeout' });
  });
});
