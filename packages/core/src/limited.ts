import { assertAcquireOptions } from './internal/semaphore-core.js';
import { describe } from './internal/validate.js';
import type { Lock } from './lock.js';
import type { Semaphore } from './semaphore.js';
import type { AcquireOptions } from './types.js';

type AsyncMethod = (this: any, ...args: any[]) => PromiseLike<unknown>;

/**
 * Both decorator forms in one function: TC39 standard `(method, context)` and legacy
 * experimentalDecorators `(target, key, descriptor)`. The decorated method must return a
 * promise in its type, since it now waits for a permit.
 */
export interface LimitedDecorator {
  <M extends AsyncMethod>(method: M, context: ClassMethodDecoratorContext): M;
  <M extends AsyncMethod>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): TypedPropertyDescriptor<M>;
}

type MetadataReflect = {
  getOwnMetadataKeys?: (target: object) => unknown[];
  getOwnMetadata?: (key: unknown, target: object) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
};

/**
 * A method decorator running every call through `semaphore.run` (`this` and the arguments
 * pass through; the body starts in the caller's async context, never inside the call).
 *
 * @example
 * class Reports {
 *   @limited(pdfSemaphore, { timeout: 5000 })
 *   async render(id: string) { ... }
 * }
 */
export function limited(semaphore: Semaphore | Lock, options?: AcquireOptions): LimitedDecorator {
  if (
    typeof semaphore !== 'object' ||
    semaphore === null ||
    typeof (semaphore as Semaphore).run !== 'function'
  ) {
    throw new TypeError(
      `Expected \`semaphore\` to be a Semaphore or a Lock, got ${describe(semaphore)}`,
    );
  }
  assertAcquireOptions(options);

  const limit = (method: AsyncMethod, name: string | symbol): AsyncMethod => {
    if (typeof method !== 'function') {
      throw new TypeError(`@limited decorates methods; \`${String(name)}\` is ${describe(method)}`);
    }
    const wrapped = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      return semaphore.run(() => method.apply(this, args), options);
    };
    Object.defineProperty(wrapped, 'name', { value: method.name, configurable: true });
    copyMetadata(method, wrapped);
    return wrapped;
  };

  return function decorate(
    target: unknown,
    context: ClassMethodDecoratorContext | string | symbol,
    descriptor?: PropertyDescriptor,
  ): unknown {
    if (typeof context === 'object' && context !== null) {
      if (context.kind !== 'method') {
        throw new TypeError(`@limited decorates methods, not a ${describe(context.kind)}`);
      }
      return limit(target as AsyncMethod, context.name);
    }
    if (descriptor === undefined) {
      throw new TypeError(`@limited decorates methods; \`${String(context)}\` has no descriptor`);
    }
    return { ...descriptor, value: limit(descriptor.value, context) };
  } as LimitedDecorator;
}

// Legacy decorators below this one (e.g. NestJS's @Get) stored reflect-metadata on the original
// function; copy it so replacing the function loses none. No-op without reflect-metadata.
function copyMetadata(from: object, to: object): void {
  const reflect = Reflect as unknown as MetadataReflect;
  if (
    typeof reflect.getOwnMetadataKeys !== 'function' ||
    typeof reflect.getOwnMetadata !== 'function' ||
    typeof reflect.defineMetadata !== 'function'
  ) {
    return;
  }
  for (const key of reflect.getOwnMetadataKeys(from)) {
    reflect.defineMetadata(key, reflect.getOwnMetadata(key, from), to);
  }
}
