import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Semaphore } from '@sluice/core';
import { firstValueFrom, from, Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Concurrency } from './concurrency.decorator.js';
import { ConcurrencyInterceptor } from './concurrency.interceptor.js';
import { SluiceLimiters } from './sluice-limiters.js';
import { SluiceRejectedException } from './sluice-rejected.exception.js';

class Jobs {
  @Concurrency('jobs')
  render(_data: { id: number }) {}
}

/** An RPC-like context: no HTTP response anywhere. */
function rpcContext(data: unknown): ExecutionContext {
  return {
    getType: () => 'rpc',
    getHandler: () => Jobs.prototype.render,
    getClass: () => Jobs,
    getArgByIndex: (i: number) => (i === 0 ? data : undefined),
    getArgs: () => [data],
  } as unknown as ExecutionContext;
}

describe('ConcurrencyInterceptor outside HTTP', () => {
  function setup(options = {}) {
    const limiters = new SluiceLimiters({
      concurrency: { jobs: { limit: 1, timeout: 0, ...options } },
    });
    const interceptor = new ConcurrencyInterceptor(new Reflector(), limiters);
    const sem = limiters.concurrency('jobs') as Semaphore;
    return { interceptor, sem };
  }

  it('holds a permit while the handler observable runs, and releases it when it completes', async () => {
    const { interceptor, sem } = setup();
    let finish!: (v: string) => void;
    const handler: CallHandler = { handle: () => from(new Promise<string>((r) => (finish = r))) };
    const running = firstValueFrom(interceptor.intercept(rpcContext({ id: 1 }), handler));
    await new Promise((r) => setTimeout(r, 5));
    expect(sem.inUse).toBe(1);

    const second = firstValueFrom(interceptor.intercept(rpcContext({ id: 2 }), handler));
    const error = await second.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceRejectedException);
    expect((error as SluiceRejectedException).getStatus()).toBe(503);
    expect((error as SluiceRejectedException).rejection.reason).toBe('queue_timeout');

    finish('done');
    expect(await running).toBe('done');
    expect(sem.inUse).toBe(0);
  });

  it('releases when the handler errors or the subscriber unsubscribes', async () => {
    const { interceptor, sem } = setup();
    const failing: CallHandler = {
      handle: () =>
        new Observable((s) => {
          s.error(new Error('boom'));
        }),
    };
    await expect(firstValueFrom(interceptor.intercept(rpcContext({}), failing))).rejects.toThrow(
      'boom',
    );
    expect(sem.inUse).toBe(0);

    const endless: CallHandler = { handle: () => new Observable<never>(() => {}) };
    const subscription = interceptor.intercept(rpcContext({}), endless).subscribe();
    await new Promise((r) => setTimeout(r, 5));
    expect(sem.inUse).toBe(1);
    subscription.unsubscribe();
    expect(sem.inUse).toBe(0);
  });

  it('passes the handler argument to key and weight', async () => {
    const seen: unknown[] = [];
    const { interceptor } = setup({
      limit: 3,
      weight: (data: { id: number }) => {
        seen.push(data);
        return 2;
      },
    });
    const handler: CallHandler = { handle: () => from(['ok']) };
    expect(await firstValueFrom(interceptor.intercept(rpcContext({ id: 7 }), handler))).toBe('ok');
    expect(seen).toEqual([{ id: 7 }]);
  });
});
