// The guard's paths by what `shouldSkip` returns: a plain boolean is decided without a
// microtask, a promise is awaited with the close listener already in place.
import {
  Controller,
  type ExecutionContext,
  Get,
  Injectable,
  Query,
  Req,
  UseGuards,
} from '@nestjs/common';
import type { Semaphore } from '@sluice/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Concurrency,
  ConcurrencyGuard,
  getLimiterToken,
  SluiceModule,
  type SluiceRequestInfo,
} from '../src/index.js';
import { boot, gate, get, openRequest, platforms, sleep, type TestApp, until } from './helpers.js';

let current: TestApp | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

const held = { release: gate(), entered: 0 };

/** `?skip=sync|async` skips; `?skip=no-async` decides "no" through a promise. */
@Injectable()
class SkippingGuard extends ConcurrencyGuard {
  protected override shouldSkip(context: ExecutionContext): boolean | Promise<boolean> {
    const skip = context.switchToHttp().getRequest().query.skip as string | undefined;
    if (skip === 'sync') return true;
    if (skip === 'async') return sleep(5).then(() => true);
    if (skip === 'no-async') return sleep(5).then(() => false);
    return false;
  }
}

@Controller()
@UseGuards(SkippingGuard)
class SkipController {
  @Get('work')
  @Concurrency('one')
  async work(@Query('hold') hold: string, @Req() req: { sluice?: SluiceRequestInfo }) {
    held.entered++;
    if (hold === '1') await held.release.promise;
    return { admitted: req.sluice !== undefined };
  }
}

describe.each(platforms)('ConcurrencyGuard shouldSkip on %s', (platform) => {
  async function app() {
    held.release = gate();
    held.entered = 0;
    current = await boot(platform, {
      imports: [SluiceModule.forRoot({ concurrency: { one: { limit: 1, timeout: 0 } } })],
      controllers: [SkipController],
    });
    return { url: current.url, sem: current.app.get<Semaphore>(getLimiterToken('one')) };
  }

  it('a skip, plain or awaited, takes no permit and sets no req.sluice', async () => {
    const { url, sem } = await app();
    for (const skip of ['sync', 'async']) {
      const a = await get(`${url}/work?skip=${skip}`);
      expect(a.status).toBe(200);
      expect(a.body).toEqual({ admitted: false });
    }
    expect(sem.stats().acquired).toBe(0);
  });

  it('an awaited "no" holds the permit until the response is finished, then gives it back once', async () => {
    const { url, sem } = await app();
    const first = get(`${url}/work?skip=no-async&hold=1`);
    await until(() => held.entered === 1, 3000, 'the first request to run');
    expect(sem.inUse).toBe(1);
    // limit 1, timeout 0: the second one is refused while the first holds the permit.
    expect((await get(`${url}/work?skip=no-async`)).status).toBe(503);
    // A skipped one passes all the same.
    expect((await get(`${url}/work?skip=async`)).status).toBe(200);
    held.release.open();
    expect((await first).body).toEqual({ admitted: true });
    await until(() => sem.inUse === 0, 3000, 'the permit to come back');
    expect((await get(`${url}/work?skip=no-async`)).body).toEqual({ admitted: true });
    await until(() => sem.inUse === 0, 3000, 'the permit to come back');
    expect(sem.stats().acquired).toBe(2);
  });

  it('a client that leaves while the skip is awaited takes no permit and runs nothing', async () => {
    const { url, sem } = await app();
    const client = openRequest(`${url}/work?skip=no-async`);
    // Gone before the 5 ms decision.
    await sleep(1);
    client.destroy();
    await client.done;
    await sleep(50);
    expect(held.entered).toBe(0);
    expect(sem.inUse).toBe(0);
    // The limit is whole: a request after it is admitted.
    expect((await get(`${url}/work`)).body).toEqual({ admitted: true });
  });
});
