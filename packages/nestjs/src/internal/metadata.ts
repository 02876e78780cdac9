// Reading and writing the decorators' metadata, and turning it into the list of limiters that
// apply to one handler.

import type { ExecutionContext } from '@nestjs/common';
import { assertPolicyName, describeValue } from '@sluice/core/http';
import type { SkipTarget } from '../sluice.interfaces.js';

interface ReflectMetadata {
  getOwnMetadata(key: unknown, target: object): unknown;
  getMetadata(key: unknown, target: object): unknown;
  defineMetadata(key: unknown, value: unknown, target: object): void;
}

// reflect-metadata is a peer dependency that @nestjs/common loads.
const reflect = Reflect as unknown as ReflectMetadata;

/** What `@SkipConcurrency(...)` / `@SkipRateLimit(...)` record on one target. */
export interface SkipMetadata {
  /** Bare skip: every limiter, the target's own included. */
  all?: boolean;
  /** Per limiter name: true skips it, false un-skips what the controller skipped. */
  names: Record<string, boolean>;
}

/** A decorator for classes and methods that appends `values` to the target's own list under `key`. */
export function appendMetadata(
  key: symbol,
  values: readonly unknown[],
): ClassDecorator & MethodDecorator {
  return ((target: object, _property?: unknown, descriptor?: PropertyDescriptor) => {
    const holder = descriptor === undefined ? target : (descriptor.value as object);
    const previous = reflect.getOwnMetadata(key, holder);
    reflect.defineMetadata(
      key,
      [...((previous as unknown[] | undefined) ?? []), ...values],
      holder,
    );
    return descriptor;
  }) as ClassDecorator & MethodDecorator;
}

/** A decorator that merges a skip into the target's own skip metadata under `key`. */
export function skipMetadata(
  decorator: string,
  key: symbol,
  targets: readonly SkipTarget[],
): ClassDecorator & MethodDecorator {
  const skip: SkipMetadata = { names: {} };
  if (targets.length === 0) skip.all = true;
  for (const target of targets) {
    if (typeof target === 'string') {
      assertPolicyName(`${decorator} name`, target);
      skip.names[target] = true;
    } else if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
      for (const [name, value] of Object.entries(target)) {
        if (typeof value !== 'boolean') {
          throw new TypeError(
            `Expected \`${decorator}\` value of ${JSON.stringify(name)} to be a boolean, got ${describeValue(value)}`,
          );
        }
        skip.names[name] = value;
      }
    } else {
      throw new TypeError(
        `Expected \`${decorator}\` arguments to be names or { name: boolean }, got ${describeValue(target)}`,
      );
    }
  }
  return ((target: object, _property?: unknown, descriptor?: PropertyDescriptor) => {
    const holder = descriptor === undefined ? target : (descriptor.value as object);
    const previous = reflect.getOwnMetadata(key, holder) as SkipMetadata | undefined;
    const merged: SkipMetadata = {
      names: { ...previous?.names, ...skip.names },
      ...(previous?.all || skip.all ? { all: true } : {}),
    };
    reflect.defineMetadata(key, merged, holder);
    return descriptor;
  }) as ClassDecorator & MethodDecorator;
}

/** What applies to one handler: an own limit (replacing "default") and extra named limiters. */
export interface LimiterSelection<O> {
  own: O | undefined;
  /** Sorted, so that every route takes shared limiters in the same order. */
  names: string[];
}

/**
 * The limiters for the handler of `context`: the method's own options win over the
 * controller's; without either, `defaultName` (if configured) applies; named limiters from the
 * controller and the method add up. Skips: a method's word on a name wins over the
 * controller's, and a bare skip covers everything.
 */
export function selectLimiters<O extends object>(
  context: ExecutionContext,
  metadataKey: symbol,
  skipKey: symbol,
  defaultName: string | undefined,
): LimiterSelection<O> {
  const handler = context.getHandler();
  const controller = context.getClass();
  const onMethod = (reflect.getMetadata(metadataKey, handler) as unknown[] | undefined) ?? [];
  const onClass = (reflect.getMetadata(metadataKey, controller) as unknown[] | undefined) ?? [];
  const skipMethod = reflect.getMetadata(skipKey, handler) as SkipMetadata | undefined;
  const skipClass = reflect.getMetadata(skipKey, controller) as SkipMetadata | undefined;

  const skipped = (name: string | undefined): boolean => {
    if (name !== undefined) {
      const m = skipMethod?.names[name];
      if (m !== undefined) return m;
    }
    if (skipMethod?.all) return true;
    if (name !== undefined) {
      const c = skipClass?.names[name];
      if (c !== undefined) return c;
    }
    return skipClass?.all === true;
  };

  let own: O | undefined;
  for (const list of [onMethod, onClass]) {
    for (let i = list.length - 1; i >= 0 && own === undefined; i--) {
      if (typeof list[i] === 'object') own = list[i] as O;
    }
  }
  const names = new Set<string>();
  for (const item of [...onClass, ...onMethod]) if (typeof item === 'string') names.add(item);
  if (own === undefined && defaultName !== undefined) names.add(defaultName);
  if (own !== undefined && skipped(undefined)) own = undefined;
  for (const name of names) if (skipped(name)) names.delete(name);
  return { own, names: [...names].sort() };
}
