import { ClosedError, UnavailableError } from '@sluice/core';
import { CircuitBreaker } from './internal/circuit-breaker.js';
import {
  type Connection,
  isReplyError,
  openConnection,
  type RedisClientLike,
} from './internal/connection.js';
import { Deadlines, type Expiring } from './internal/deadlines.js';
import { type LuaScript, STALE } from './internal/lua-script.js';
import { ServerClock } from './internal/server-clock.js';
import {
  assertFunction,
  assertKeyPart,
  assertNonNegativeFinite,
  assertObject,
  assertOneOf,
  assertPositiveFinite,
  assertPositiveInteger,
} from './internal/validate.js';

export type { RedisClientLike } from './internal/connection.js';

/** What a limiter does when Redis cannot answer within `commandTimeout`. */
export type WhenUnavailable = 'reject' | 'allow' | 'local';

export interface RedisStoreOptions {
  /**
   * A node-redis (`redis` 5+) or ioredis (5+) client. The store opens its own connection from
   * it with `duplicate()` (offline queue off, no re-send after reconnect) and never sends on
   * yours; it need not be connected.
   */
  client: RedisClientLike;
  /** First part of every key: `${prefix}:{${name}}:...`. Default `'sluice'`. */
  prefix?: string;
  /** Milliseconds; a decision slower than this counts as "Redis unavailable". Default 500. */
  commandTimeout?: number;
  /**
   * With Redis unavailable: `'reject'` (default, fail closed: UnavailableError), `'allow'`
   * (admit, marked `degraded`) or `'local'` (an in-memory limiter of the same settings, per
   * process).
   */
  whenUnavailable?: WhenUnavailable;
  /**
   * After `threshold` consecutive failures (default 3), skip Redis for `coolDown` ms (default
   * 1000), then let one call through as a probe.
   */
  breaker?: { threshold?: number; coolDown?: number };
  /** Connection errors and the failures that open the breaker. Default: ignore them. */
  onError?: (error: unknown) => void;
}

const WHEN_UNAVAILABLE: readonly WhenUnavailable[] = ['reject', 'allow', 'local'];
const now = () => performance.now();

/** Runs a sluice script; the store's internals, for the limiters in this package only. */
export let runScript: (
  store: RedisStore,
  script: LuaScript,
  keys: readonly string[],
  args: readonly string[],
) => Promise<readonly number[]>;

/** Part 2's hooks into a store (semaphores): its error hook, pub/sub, work to do on close. */
export interface StoreInternals {
  /** The user's error hook (never throws). */
  reportError(error: unknown): void;
  /** A new connection duplicated from the store's, for pub/sub; closed by the caller. */
  duplicateConnection(): Connection;
  /** Runs `fn` first when the store closes (bounded by the command timeout). */
  onClose(fn: () => Promise<void>): void;
  /** The earliest local (monotonic, ms) time at which Redis's clock read `serverUs`, if known. */
  earliestLocal(serverUs: number): number | undefined;
}

export let storeInternals: (store: RedisStore) => StoreInternals;

/**
 * One per process and Redis, shared by its limiters: the connection, the command timeout, the
 * circuit breaker and the failure policy.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis';
 * const store = new RedisStore({ client: createClient({ url: process.env.REDIS_URL }) });
 * const perClient = new RedisKeyedTokenBucket(store, { name: 'api', capacity: 20, refillPerSecond: 10 });
 * ```
 */
export class RedisStore {
  readonly #prefix: string;
  readonly #commandTimeout: number;
  readonly #whenUnavailable: WhenUnavailable;
  readonly #onError: (error: unknown) => void;
  readonly #connection: Connection;
  readonly #breaker: CircuitBreaker;
  readonly #clock = new ServerClock();
  readonly #deadlines = new Deadlines(now);
  #connectedOnce = false;
  #closing: Promise<void> | undefined;
  readonly #closeHooks: Array<() => Promise<void>> = [];
  #ended = false;

  constructor(options: RedisStoreOptions) {
    assertObject('options', options);
    const {
      client,
      prefix = 'sluice',
      commandTimeout = 500,
      whenUnavailable = 'reject',
      breaker = {},
      onError = () => {},
    } = options;
    assertKeyPart('prefix', prefix);
    assertPositiveFinite('commandTimeout', commandTimeout);
    assertOneOf('whenUnavailable', whenUnavailable, WHEN_UNAVAILABLE);
    assertObject('breaker', breaker);
    const { threshold = 3, coolDown = 1000 } = breaker;
    assertPositiveInteger('breaker.threshold', threshold);
    assertNonNegativeFinite('breaker.coolDown', coolDown);
    assertFunction('onError', onError);
    this.#prefix = prefix;
    this.#commandTimeout = commandTimeout;
    this.#whenUnavailable = whenUnavailable;
    // The hook is the user's: if it throws, that must not become an unhandled error here.
    this.#onError = (error) => {
      try {
        onError(error);
      } catch {}
    };
    this.#breaker = new CircuitBreaker(threshold, coolDown, now);
    this.#connection = openConnection(client, this.#onError);
  }

  get prefix(): string {
    return this.#prefix;
  }

  get commandTimeout(): number {
    return this.#commandTimeout;
  }

  get whenUnavailable(): WhenUnavailable {
    return this.#whenUnavailable;
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Ends the store's own connections (the client you passed stays yours). Later decisions reject
   * with ClosedError; those in flight settle. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  /** `${prefix}:{${name}}:${suffix}`: one hash tag per limiter, so Cluster keeps it on one slot. */
  key(name: string, suffix: string): string {
    return `${this.#prefix}:{${name}}:${suffix}`;
  }

  async #closeAll(): Promise<void> {
    // The limiters first (they release held permits over this connection), then the connection.
    await Promise.all(this.#closeHooks.map((fn) => fn().catch(this.#onError)));
    this.#ended = true;
    await this.#connection.close(this.#commandTimeout);
  }

  static {
    runScript = (store, script, keys, args) => store.#run(script, keys, args);
    storeInternals = (store) => ({
      reportError: store.#onError,
      duplicateConnection: () => store.#connection.duplicate(store.#onError),
      onClose: (fn) => {
        store.#closeHooks.push(fn);
      },
      earliestLocal: (serverUs) => store.#clock.earliestLocal(serverUs, now()),
    });
  }

  #run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<readonly number[]> {
    // Limiters refuse new work once `closed`; their close hooks still release over the connection.
    if (this.#ended || (this.closed && this.#closeHooks.length === 0)) {
      return Promise.reject(new ClosedError(undefined, 'RedisStore is closed'));
    }
    const admitted = this.#breaker.admit();
    if (admitted === false) {
      return Promise.reject(new UnavailableError('Redis is unavailable (circuit breaker open)'));
    }
    const probe = admitted === 'probe';
    const started = now();
    return new Promise((resolve, reject) => {
      const call: Expiring & { expired: boolean } = {
        deadline: started + this.#commandTimeout,
        done: false,
        expired: false,
        expire: () => {
          call.expired = true;
          reject(
            this.#failed(
              new Error(`Redis did not answer within ${this.#commandTimeout} ms`),
              probe,
            ),
          );
        },
      };
      this.#deadlines.add(call);
      this.#attempt(script, keys, args, started, call).then(
        (reply) => {
          if (call.done) return;
          call.done = true;
          this.#deadlines.prune();
          this.#breaker.success(probe);
          resolve(reply);
        },
        (error) => {
          if (call.done) return;
          call.done = true;
          this.#deadlines.prune();
          reject(this.#failed(error, probe));
        },
      );
    });
  }

  /** What a failed call rejects with; counts it against the breaker unless Redis answered. */
  #failed(error: unknown, probe: boolean): unknown {
    if (isReplyError(error)) {
      // Redis answered: it is up; the error is the caller's (a wrong key type, a script bug).
      this.#breaker.success(probe);
      return error;
    }
    if (this.#breaker.failure(probe)) this.#onError(error);
    return new UnavailableError(
      `Redis is unavailable: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }

  async #attempt(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    started: number,
    call: { expired: boolean },
  ): Promise<readonly number[]> {
    const connection = this.#connection;
    // performance.now() is a measurable part of a decision's CPU: read it once on the fast path.
    let sentAt = started;
    if (!connection.ready) {
      // The first connect may still be under way: wait for it within the timeout. Later, a
      // connection that is down fails at once (nothing waits in an offline queue).
      if (this.#connectedOnce || !(await connection.waitReady(this.#commandTimeout))) {
        throw new Error('Redis connection is not ready');
      }
      sentAt = now();
    }
    this.#connectedOnce = true;
    const giveUpAt = started + this.#commandTimeout;
    for (let retriedStale = false; ; retriedStale = true) {
      const command = ['EVALSHA', script.sha, String(keys.length)];
      for (const key of keys) command.push(key);
      command.push(String(this.#clock.deadline(sentAt, giveUpAt)));
      for (const arg of args) command.push(arg);
      let reply: unknown;
      try {
        reply = await connection.send(command);
      } catch (error) {
        // After a restart or SCRIPT FLUSH: send the source once (which also caches it again).
        if (!(isReplyError(error) && error.message.startsWith('NOSCRIPT')) || call.expired) {
          throw error;
        }
        command[0] = 'EVAL';
        command[1] = script.source;
        // The offset sample below must not include the NOSCRIPT round trip.
        sentAt = now();
        reply = await connection.send(command);
      }
      const values = decode(reply);
      this.#clock.sample(values[1]!, sentAt);
      if (values[0] !== STALE || call.expired) return values;
      // Stale although the reply came back in time: Redis's clock stepped forward. Forget the
      // offset and send once more (without a deadline until a new sample arrives).
      this.#clock.reset();
      if (retriedStale) throw new Error('Redis replied STALE twice in a row');
      sentAt = now();
    }
  }
}

function decode(reply: unknown): readonly number[] {
  if (!Array.isArray(reply) || reply.length < 2) {
    throw new TypeError(`Unexpected reply from a sluice script: ${JSON.stringify(reply)}`);
  }
  // Both clients parse integer replies into numbers; anything else is converted.
  return typeof reply[0] === 'number' && typeof reply[1] === 'number' ? reply : reply.map(Number);
}
