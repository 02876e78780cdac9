import type { LimiterListener, Observable } from './events.js';
import { limiterKind } from './limiter-kind.js';
import { Semaphore, type SemaphoreOptions } from './semaphore.js';
import type { Limiter, Permit, SemaphoreStats, WaitOptions } from './types.js';

/**
 * A mutual-exclusion lock: a Semaphore of 1, with the same FIFO, cancellation and close
 * behaviour. Options are a Semaphore's (`maxWaiting`).
 *
 * @example
 * const lock = new Lock();
 * await lock.run(async () => { await writeFile(path, await render()); });
 */
export class Lock implements Limiter, Observable {
  readonly #semaphore: Semaphore;

  constructor(options?: SemaphoreOptions) {
    this.#semaphore = new Semaphore(1, options);
  }

  /** The brand adapters read (see `limiterKind`). */
  get [limiterKind](): 'limiter' {
    return 'limiter';
  }

  acquire(options?: WaitOptions): Promise<Permit> {
    return this.#semaphore.acquire(options);
  }

  tryAcquire(): Permit | undefined {
    return this.#semaphore.tryAcquire();
  }

  /** As `Semaphore#run`: `fn` never runs before this returns. */
  run<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return this.#semaphore.run(fn, options);
  }

  wrap<A extends unknown[], R>(
    fn: (...args: A) => R | PromiseLike<R>,
    options?: WaitOptions,
  ): (...args: A) => Promise<R> {
    return this.#semaphore.wrap(fn, options);
  }

  close(reason?: unknown): void {
    this.#semaphore.close(reason);
  }

  onIdle(): Promise<void> {
    return this.#semaphore.onIdle();
  }

  /** True while the lock is held. */
  get locked(): boolean {
    return this.#semaphore.inUse > 0;
  }

  stats(): SemaphoreStats {
    return this.#semaphore.stats();
  }

  /** Like `Semaphore#subscribe`: every event of the lock, weight always 1. */
  subscribe(listener: LimiterListener): () => void {
    return this.#semaphore.subscribe(listener);
  }
}
