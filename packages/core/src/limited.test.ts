import { AsyncLocalStorage } from 'node:async_hooks';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { limited } from './limited.js';
import { Lock } from './lock.js';
import { Semaphore } from './semaphore.js';
import type { AcquireOptions } from './types.js';

// vitest's transform (oxc) does not lower TC39 decorators, so both decorator forms are
// compiled here by TypeScript itself: without experimentalDecorators (TC39 standard, what
// TS 5 emits by default) and with it (legacy, what NestJS apps use).

interface Service {
  factor: number;
  calls: number[];
  work(a: number, b: number): Promise<number>;
  context(): Promise<string | undefined>;
  fail(): Promise<never>;
}

const source = `
declare const limited: any, limiter: any, options: any, als: any;
export class Service {
  factor = 10;
  calls: number[] = [];
  @limited(limiter, options)
  async work(a: number, b: number) {
    this.calls.push(a);
    await Promise.resolve();
    await Promise.resolve();
    return (a + b) * this.factor;
  }
  @limited(limiter, options)
  async context() { return als.getStore(); }
  @limited(limiter, options)
  async fail() { throw new Error('failed'); }
}
`;

function compile(
  legacy: boolean,
  limiter: Semaphore | Lock,
  options?: AcquireOptions,
  als?: AsyncLocalStorage<string>,
): new () => Service {
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      experimentalDecorators: legacy,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
    },
  });
  const module = { exports: {} as { Service: new () => Service } };
  new Function('module', 'exports', 'limited', 'limiter', 'options', 'als', outputText)(
    module,
    module.exports,
    limited,
    limiter,
    options,
    als,
  );
  return module.exports.Service;
}

describe.each([
  ['TC39 standard', false],
  ['legacy experimentalDecorators', true],
])('limited as a %s decorator', (_name, legacy) => {
  it('limits the method, keeping `this` and the arguments', async () => {
    const sem = new Semaphore(2);
    const Service = compile(legacy, sem);
    const service = new Service();
    const held = await sem.acquire();
    const results = Promise.all([1, 2, 3, 4].map((i) => service.work(i, 1)));
    // One permit was free: the first call holds it at once, the others wait in order. No
    // method body has run yet: the call starts a microtask later, as after a wait.
    expect(service.calls).toEqual([]);
    expect(sem.inUse).toBe(2);
    expect(sem.waiting).toBe(3);
    await Promise.resolve();
    expect(service.calls).toEqual([1]);
    held.release();
    expect(await results).toEqual([20, 30, 40, 50]);
    expect(service.calls).toEqual([1, 2, 3, 4]);
    expect(sem.stats()).toMatchObject({ acquired: 5, inUse: 0, maxInUse: 2 });
    expect(Service.prototype.work.name).toBe('work');
  });

  it('passes acquire options, releases when the method throws, keeps the caller’s context', async () => {
    const lock = new Lock();
    const als = new AsyncLocalStorage<string>();
    const Service = compile(legacy, lock, { timeout: 0 }, als);
    const service = new Service();
    await expect(service.fail()).rejects.toThrow('failed');
    expect(lock.locked).toBe(false);
    const held = await lock.acquire();
    // timeout 0: do not wait.
    await expect(service.work(1, 1)).rejects.toMatchObject({ code: 'TIMEOUT' });
    held.release();
    expect(await als.run('caller', () => service.context())).toBe('caller');
    expect(lock.stats()).toMatchObject({ inUse: 0, timedOut: 1 });
  });

  it('keeps the caller’s async context across a wait', async () => {
    const sem = new Semaphore(1);
    const als = new AsyncLocalStorage<string>();
    const service = new (compile(legacy, sem, undefined, als))();
    const held = await sem.acquire();
    const result = als.run('caller', () => service.context());
    als.run('releaser', () => held.release());
    expect(await result).toBe('caller');
  });
});

describe('limited, forms called by hand', () => {
  const METADATA_API = ['getOwnMetadataKeys', 'getOwnMetadata', 'defineMetadata'] as const;
  const saved = METADATA_API.map((name) => Object.getOwnPropertyDescriptor(Reflect, name));
  afterEach(() => {
    METADATA_API.forEach((name, i) => {
      const descriptor = saved[i];
      if (descriptor) Object.defineProperty(Reflect, name, descriptor);
      else delete (Reflect as unknown as Record<string, unknown>)[name];
    });
  });

  it('legacy: returns a descriptor with a wrapped value and the other attributes kept', async () => {
    const sem = new Semaphore(1);
    class Greeter {
      prefix = 'p';
      async greet(name: string): Promise<string> {
        return `${this.prefix}:${name}:${sem.inUse}`;
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(Greeter.prototype, 'greet')!;
    const result = limited(sem)(Greeter.prototype, 'greet', descriptor);
    expect(result.enumerable).toBe(descriptor.enumerable);
    expect(result.writable).toBe(descriptor.writable);
    expect(result.value).not.toBe(descriptor.value);
    Object.defineProperty(Greeter.prototype, 'greet', result);
    expect(await new Greeter().greet('x')).toBe('p:x:1');
    expect(sem.inUse).toBe(0);
  });

  it('legacy: copies reflect-metadata from the original method (e.g. NestJS route metadata)', () => {
    const store = new WeakMap<object, Map<unknown, unknown>>();
    const r = Reflect as unknown as Record<string, unknown>;
    const define = (key: unknown, value: unknown, target: object) => {
      if (!store.has(target)) store.set(target, new Map());
      store.get(target)!.set(key, value);
    };
    const get = (key: unknown, target: object) => store.get(target)?.get(key);
    r.defineMetadata = define;
    r.getOwnMetadata = get;
    r.getOwnMetadataKeys = (target: object) => [...(store.get(target)?.keys() ?? [])];
    class Controller {
      async list(): Promise<number[]> {
        return [];
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(Controller.prototype, 'list')!;
    define('path', '/items', descriptor.value);
    const result = limited(new Semaphore(1))(Controller.prototype, 'list', descriptor);
    expect(get('path', result.value!)).toBe('/items');
  });

  it('refuses anything but a method', () => {
    const decorate = limited(new Semaphore(1)) as unknown as (...args: unknown[]) => unknown;
    expect(() => decorate(undefined, { kind: 'field', name: 'x' })).toThrow(/methods.*"field"/);
    expect(() => decorate({}, 'x', { value: 5 })).toThrow(/methods.*`x`/);
    expect(() => decorate({}, 'y', undefined)).toThrow(/`y`/);
  });

  it('throws for a missing semaphore or bad options', () => {
    expect(() => limited(undefined as never)).toThrow(/`semaphore`.*undefined/);
    expect(() => limited({} as never)).toThrow(TypeError);
    expect(() => limited(new Semaphore(1), { weight: 0 })).toThrow(/`weight`.*0/);
    expect(() => limited(new Semaphore(1), { timeout: -1 })).toThrow(/`timeout`/);
  });
});

describe('limited typings', () => {
  // Type-checks a snippet against the real sources in both decorator modes: NestJS apps
  // compile with experimentalDecorators, which this package's own tsconfig does not use.
  const limitedPath = fileURLToPath(new URL('./limited.ts', import.meta.url));
  const semaphorePath = fileURLToPath(new URL('./semaphore.ts', import.meta.url));
  const snippet = `
    import { limited } from ${JSON.stringify(`${limitedPath.slice(0, -3)}.js`)};
    import { Semaphore } from ${JSON.stringify(`${semaphorePath.slice(0, -3)}.js`)};
    const sem = new Semaphore(2);
    export class Service {
      @limited(sem, { timeout: 100 })
      async work(a: number): Promise<number> { return a; }
    }
    export class Sync {
      // @ts-expect-error a sync method cannot be limited: its return type would change
      @limited(sem)
      count(): number { return 1; }
    }
  `;

  it.each([
    ['TC39 standard', false],
    ['legacy', true],
  ])(
    'accepts async methods and refuses sync ones (%s)',
    (_name, legacy) => {
      const file = fileURLToPath(new URL('./__limited-snippet.ts', import.meta.url));
      const options: ts.CompilerOptions = {
        experimentalDecorators: legacy,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts', 'lib.dom.d.ts'],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      };
      const host = ts.createCompilerHost(options);
      const readFile = host.readFile.bind(host);
      const getSourceFile = host.getSourceFile.bind(host);
      host.readFile = (name) => (name === file ? snippet : readFile(name));
      host.fileExists = (name) => name === file || ts.sys.fileExists(name);
      host.getSourceFile = (name, version, ...rest) =>
        name === file
          ? ts.createSourceFile(name, snippet, version)
          : getSourceFile(name, version, ...rest);
      const program = ts.createProgram([file], options, host);
      const diagnostics = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(diagnostics).toEqual([]);
    },
    30_000,
  );
});
