import { QueueRing } from './internal/queue-ring.js';
import {
  assertFunction,
  assertOptions,
  assertPositiveInteger,
  assertSignal,
  describe,
} from './internal/validate.js';

/** Options of `mapConcurrent`. */
export interface MapConcurrentOptions {
  /**
   * Most calls of `fn` in flight, a positive integer. Calls in flight plus finished results the
   * consumer has not taken yet never exceed it, so the source is read at most this far ahead.
   */
  concurrency: number;
  /** Yield results in source order (default true); false yields them as they finish. */
  ordered?: boolean;
  /** Aborting rejects the iteration with `signal.reason` and stops reading the source. */
  signal?: AbortSignal;
}

type Source<T> = Iterable<T> | AsyncIterable<T>;
type Mapper<T, R> = (item: T, index: number) => Promise<R> | R;

interface Consumer<R> {
  resolve: (result: IteratorResult<R>) => void;
  reject: (reason: unknown) => void;
}

const STARTED: Promise<void> = Promise.resolve();
const DONE: IteratorReturnResult<undefined> = Object.freeze({
  done: true as const,
  value: undefined,
});

function isResult(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

function notAResult(value: unknown): TypeError {
  return new TypeError(
    `Expected the source iterator's next() to return an object, got ${describe(value)}`,
  );
}

/**
 * Maps `source` through `fn` with at most `concurrency` calls at once, yielding the results
 * (in source order unless `ordered: false`). The source is read lazily, as the consumer takes
 * results: calls in flight plus results not yet taken stay within `concurrency`.
 *
 * An error from `fn` or from the source, or an abort, rejects the iteration at once (results
 * not yet taken are dropped), stops reading and closes the source (`return()`), except a source
 * that threw itself. Breaking out of `for await` closes the source too. Calls already running
 * are not cancelled; their results are ignored; calls not started yet never start. `fn` runs in
 * the async context of the consumer, and always starts a microtask after the `next()` that made
 * room for it, never inside it (like `Semaphore.run`).
 *
 * @example
 * for await (const page of mapConcurrent(urls, (url) => fetch(url).then((r) => r.text()), { concurrency: 4 })) {
 *   console.log(page.length);
 * }
 */
export function mapConcurrent<T, R>(
  source: Source<T>,
  fn: Mapper<T, R>,
  options: MapConcurrentOptions,
): AsyncIterable<R> {
  if (
    source === null ||
    source === undefined ||
    (typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] !== 'function' &&
      typeof (source as Iterable<T>)[Symbol.iterator] !== 'function')
  ) {
    throw new TypeError(
      `Expected \`source\` to be an iterable or async iterable, got ${describe(source)}`,
    );
  }
  assertFunction('fn', fn);
  if (options === undefined || options === null) {
    throw new TypeError(
      `Expected \`options\` to be an object with \`concurrency\`, got ${describe(options)}`,
    );
  }
  assertOptions('options', options);
  const { concurrency, ordered = true, signal } = options;
  assertPositiveInteger('concurrency', concurrency);
  if (typeof ordered !== 'boolean') {
    throw new TypeError(`Expected \`ordered\` to be a boolean, got ${describe(ordered)}`);
  }
  if (signal !== undefined) assertSignal('signal', signal);
  return {
    [Symbol.asyncIterator]: () => new MapRun(source, fn, concurrency, ordered, signal),
  };
}

/** One iteration of a `mapConcurrent` result: its own source iterator, calls and buffer. */
class MapRun<T, R> implements AsyncIterableIterator<R> {
  readonly #source: Source<T>;
  readonly #fn: Mapper<T, R>;
  readonly #concurrency: number;
  readonly #ordered: boolean;
  readonly #signal: AbortSignal | undefined;

  #iterator: Iterator<T> | AsyncIterator<T> | undefined = undefined;
  #isAsync = false;
  #started = false;
  /** No more results: the source ended and everything was yielded, or it failed or was closed. */
  #finished = false;
  #sourceDone = false;
  /** An async `next()` on the source is pending (one at a time). */
  #pulling = false;
  #pumping = false;
  #index = 0;
  #inFlight = 0;
  /** Finished results not yet taken: by index when ordered, in finishing order when not. */
  #byIndex = new Map<number, R>();
  #inOrder = new QueueRing<R>(4);
  #nextIndex = 0;
  #consumers: Consumer<R>[] = [];
  /** A failure not yet reported to the consumer. */
  #error: { reason: unknown } | undefined = undefined;
  readonly #onAbort = (): void => {
    this.#fail((this.#signal as AbortSignal).reason, true);
  };

  constructor(
    source: Source<T>,
    fn: Mapper<T, R>,
    concurrency: number,
    ordered: boolean,
    signal: AbortSignal | undefined,
  ) {
    this.#source = source;
    this.#fn = fn;
    this.#concurrency = concurrency;
    this.#ordered = ordered;
    this.#signal = signal;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#error !== undefined) {
      const { reason } = this.#error;
      this.#error = undefined;
      return Promise.reject(reason);
    }
    if (this.#finished) return Promise.resolve(DONE);
    if (!this.#started && !this.#start()) return this.next();
    if (this.#buffered() > 0 && this.#hasNext()) {
      const value = this.#takeNext();
      this.#pump();
      return Promise.resolve({ value, done: false });
    }
    return new Promise<IteratorResult<R>>((resolve, reject) => {
      this.#consumers.push({ resolve, reject });
      // Pumping here, inside the consumer's `next()`, is what runs `fn` in its async context.
      this.#pump();
      this.#checkEnd();
    });
  }

  return(value?: unknown): Promise<IteratorResult<R>> {
    const result =
      value === undefined ? DONE : ({ done: true, value } as IteratorReturnResult<any>);
    this.#error = undefined;
    if (this.#finished) return Promise.resolve(result);
    const closing = this.#finish(true);
    return closing === undefined ? Promise.resolve(result) : closing.then(() => result);
  }

  /** Opens the source and listens to the signal; false when it failed at once. */
  #start(): boolean {
    this.#started = true;
    if (this.#signal?.aborted) {
      this.#fail(this.#signal.reason, false);
      return false;
    }
    try {
      const asyncFactory = (this.#source as AsyncIterable<T>)[Symbol.asyncIterator];
      if (typeof asyncFactory === 'function') {
        this.#isAsync = true;
        this.#iterator = asyncFactory.call(this.#source);
      } else {
        this.#iterator = (this.#source as Iterable<T>)[Symbol.iterator]();
      }
    } catch (error) {
      this.#sourceDone = true;
      this.#fail(error, false);
      return false;
    }
    this.#signal?.addEventListener('abort', this.#onAbort);
    return true;
  }

  #buffered(): number {
    return this.#ordered ? this.#byIndex.size : this.#inOrder.size;
  }

  #hasNext(): boolean {
    return this.#ordered ? this.#byIndex.has(this.#nextIndex) : this.#inOrder.size > 0;
  }

  #takeNext(): R {
    if (!this.#ordered) return this.#inOrder.shift();
    const value = this.#byIndex.get(this.#nextIndex) as R;
    this.#byIndex.delete(this.#nextIndex);
    this.#nextIndex++;
    return value;
  }

  /** Starts calls while there is room: in flight + buffered + a pending pull <= concurrency. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (
        !this.#finished &&
        !this.#sourceDone &&
        !this.#pulling &&
        this.#inFlight + this.#buffered() < this.#concurrency
      ) {
        const iterator = this.#iterator as Iterator<T> | AsyncIterator<T>;
        let step: IteratorResult<T> | Promise<IteratorResult<T>>;
        try {
          step = iterator.next();
        } catch (error) {
          this.#sourceDone = true;
          this.#fail(error, false);
          return;
        }
        if (this.#isAsync) {
          this.#pulling = true;
          Promise.resolve(step).then(
            (result) => this.#onPulled(result),
            (error: unknown) => {
              this.#pulling = false;
              this.#sourceDone = true;
              this.#fail(error, false);
            },
          );
          return;
        }
        const result = step as IteratorResult<T>;
        if (!isResult(result)) {
          this.#sourceDone = true;
          this.#fail(notAResult(result), false);
          return;
        }
        if (result.done) {
          this.#sourceDone = true;
          this.#checkEnd();
          return;
        }
        this.#call(result.value);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #onPulled(result: IteratorResult<T>): void {
    this.#pulling = false;
    if (this.#finished) return;
    if (!isResult(result)) {
      this.#sourceDone = true;
      this.#fail(notAResult(result), false);
      return;
    }
    if (result.done) {
      this.#sourceDone = true;
      this.#checkEnd();
      return;
    }
    this.#call(result.value);
    this.#pump();
  }

  #call(item: T): void {
    const index = this.#index++;
    this.#inFlight++;
    // fn starts a microtask later, never inside next() (as Semaphore.run: never sometimes-sync);
    // the reaction is registered here, so it runs in the consumer's async context. A call not
    // started when the iteration ended is skipped (its result would be dropped anyway).
    STARTED.then(() => (this.#finished ? undefined : this.#fn(item, index))).then(
      (value) => this.#onResult(index, value as R),
      (error: unknown) => {
        this.#inFlight--;
        this.#fail(error, true);
      },
    );
  }

  #onResult(index: number, value: R): void {
    this.#inFlight--;
    if (this.#finished) return;
    if (this.#ordered) this.#byIndex.set(index, value);
    else this.#inOrder.push(value);
    while (this.#consumers.length > 0 && this.#hasNext()) {
      const consumer = this.#consumers.shift() as Consumer<R>;
      consumer.resolve({ value: this.#takeNext(), done: false });
    }
    this.#pump();
    this.#checkEnd();
  }

  /** Ends the iteration when the source is exhausted and every result was taken. */
  #checkEnd(): void {
    if (
      this.#finished ||
      !this.#sourceDone ||
      this.#pulling ||
      this.#inFlight > 0 ||
      this.#buffered() > 0
    ) {
      return;
    }
    this.#finish(false);
  }

  /** Reports `reason` to the head consumer (or the next `next()`) and stops. */
  #fail(reason: unknown, closeSource: boolean): void {
    if (this.#finished) return;
    const first = this.#consumers.shift();
    if (first === undefined) this.#error = { reason };
    else first.reject(reason);
    // Any other pending `next()` settles done, as after a generator throws.
    this.#finish(closeSource)?.catch(() => {});
  }

  /**
   * Stops for good: drops results, removes the listener and, when asked, closes the source.
   * Returns the source's `return()` when there is one to wait for.
   */
  #finish(closeSource: boolean): Promise<unknown> | undefined {
    this.#finished = true;
    this.#byIndex.clear();
    this.#inOrder.drain();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    for (const consumer of this.#consumers.splice(0)) consumer.resolve(DONE);
    const iterator = this.#iterator;
    if (!closeSource || this.#sourceDone || iterator === undefined) return undefined;
    this.#sourceDone = true;
    if (typeof iterator.return !== 'function') return undefined;
    let closing: unknown;
    try {
      closing = iterator.return();
    } catch (error) {
      return Promise.reject(error);
    }
    // A pull still pending may keep an async generator busy: do not make the consumer wait.
    if (this.#pulling) {
      Promise.resolve(closing).catch(() => {});
      return undefined;
    }
    return Promise.resolve(closing);
  }
}
