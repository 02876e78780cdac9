import type { ExecutionContext } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { PolicyCache } from './resolve.js';

class A {
  run() {}
}
class B extends A {}
class C {
  other() {}
}

function context(handler: Function, controller: Function): ExecutionContext {
  return { getHandler: () => handler, getClass: () => controller } as unknown as ExecutionContext;
}

describe('PolicyCache', () => {
  it('builds once per handler and controller, whatever order the routes come in', () => {
    const cache = new PolicyCache<string>();
    const builds: string[] = [];
    const get = (handler: Function, controller: Function, name: string) =>
      cache.get(context(handler, controller), () => {
        builds.push(name);
        return [name];
      });
    const routes: Array<[Function, Function, string]> = [
      [A.prototype.run, A, 'a'],
      // The same handler inherited by another controller gets its own answer.
      [A.prototype.run, B, 'b'],
      [C.prototype.other, C, 'c'],
    ];
    for (const order of [
      [0, 0, 1, 1, 2, 2],
      [2, 1, 0, 1, 2, 0],
      [0, 2, 0, 1, 1, 0],
    ]) {
      for (const i of order) {
        const [handler, controller, name] = routes[i] as [Function, Function, string];
        expect(get(handler, controller, name)).toEqual([name]);
      }
    }
    expect(builds).toEqual(['a', 'b', 'c']);
  });

  it('does not remember a build that threw', () => {
    const cache = new PolicyCache<string>();
    const ctx = context(A.prototype.run, A);
    expect(() =>
      cache.get(ctx, () => {
        throw new Error('unknown limiter');
      }),
    ).toThrow('unknown limiter');
    expect(cache.get(ctx, () => ['a'])).toEqual(['a']);
  });
});
