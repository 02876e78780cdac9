import { describe, expectTypeOf, it } from 'vitest';
import { KeyedSemaphore } from './keyed-semaphore.js';
import { limited } from './limited.js';
import { Lock } from './lock.js';
import { Semaphore } from './semaphore.js';
import type { Limiter, Permit } from './types.js';

const sem = new Semaphore(2);

describe('types', () => {
  it('Semaphore', () => {
    expectTypeOf(sem.acquire()).toEqualTypeOf<Promise<Permit>>();
    expectTypeOf(sem.tryAcquire(2)).toEqualTypeOf<Permit | undefined>();
    expectTypeOf(sem.run(() => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(sem.run(async () => 'x')).toEqualTypeOf<Promise<string>>();
    const wrapped = sem.wrap(async (a: number, b: string) => `${a}${b}`);
    expectTypeOf(wrapped).toEqualTypeOf<(a: number, b: string) => Promise<string>>();
    expectTypeOf(sem).toExtend<Limiter>();
    expectTypeOf(new Lock()).toExtend<Limiter>();
    expectTypeOf<Permit>().toExtend<Disposable>();
  });

  it('KeyedSemaphore', () => {
    const keyed = new KeyedSemaphore<number>((key: number) => key + 1);
    expectTypeOf(keyed.acquire(1)).toEqualTypeOf<Promise<Permit>>();
    expectTypeOf(keyed.run(1, () => true)).toEqualTypeOf<Promise<boolean>>();
    // @ts-expect-error the key type is number
    keyed.acquire('one');
  });

  it('limited, TC39 form', () => {
    class Service {
      @limited(sem, { weight: 1 })
      async work(a: number): Promise<number> {
        return a;
      }
    }
    expectTypeOf(new Service().work).toEqualTypeOf<(a: number) => Promise<number>>();
  });

  it('limited, legacy form', () => {
    const descriptor: TypedPropertyDescriptor<(a: number) => Promise<number>> = {
      value: async (a: number) => a,
    };
    expectTypeOf(limited(sem)({}, 'work', descriptor)).toEqualTypeOf<
      TypedPropertyDescriptor<(a: number) => Promise<number>>
    >();
  });
});
