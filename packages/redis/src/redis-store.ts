import { ClosedError, UnavailableError } from '@sluice/core';
import { CircuitBreaker } from './internal/circuit-breaker.js';
import {
  type Connection,
  isReplyError,
  openConnection,
  type RedisClientLike,
} from './internal/connection.js';
import { Deadlines, type Expiring } from './internal/deadlines.js';
import { integerArg, type LuaScript, STALE } from './internal/lua-script.js';
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

/** Where a script call's outcome goes. */
export interface ScriptSink {
  resolve(values: readonly number[]): void;
  reject(error: unknown): void;
}

/**
 * Sends a sluice script; the store's internals, for the limiters in this package only.
 * `command` is `['evalsha', script.sha, String(keys), ...keys, '', ...args]`: the empty slot is
 * ARGV[1], the deadline, which the store fills in. The store owns `command` from then on.
 * Command names are lower case: ioredis lower-cases a name on every flag lookup and reply.
 */
export let sendScript: (
  store: RedisStore,
  script: LuaScript,
  command: string[],
  keys: number,
  sink: ScriptSink,
) => void;

/** Runs a sluice script (sendScript with a promise); for the limiters in this package only. */
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

/** Expires a call that got no answer in time (set by RedisStore, which owns the outcome). */
let expireCall: (call: ScriptCall) => void;

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
    sendScript = (store, script, command, keys, sink) => store.#send(script, command, keys, sink);
    runScript = (store, script, keys, args) =>
      new Promise((resolve, reject) => {
        const command = ['evalsha', script.sha, String(keys.length), ...keys, '', ...args];
        store.#send(script, command, keys.length, { resolve, reject });
      });
    expireCall = (call) => call.store.#expired(call);
    storeInternals = (store) => ({
      reportError: store.#onError,
      duplicateConnection: () => store.#connection.duplicate(store.#onError),
      onClose: (fn) => {
        store.#closeHooks.push(fn);
      },
      earliestLocal: (serverUs) => store.#clock.earliestLocal(serverUs, now()),
    });
  }

  /**
   * Sends a script call and settles `sink`. The common case (connected, script cached, reply in
   * time) is one `send` and one reaction: no async function, one clock read, the command array
   * the limiter built. The rare cases (first connect, NOSCRIPT, STALE) send the same array again.
   */
  #send(script: LuaScript, command: string[], keys: number, sink: ScriptSink): void {
    // Limiters refuse new work once `closed`; their close hooks still release over the connection.
    if (this.#ended || (this.closed && this.#closeHooks.length === 0)) {
      sink.reject(new ClosedError(undefined, 'RedisStore is closed'));
      return;
    }
    const admitted = this.#breaker.admit();
    if (admitted === false) {
      sink.reject(new UnavailableError('Redis is unavailable (circuit breaker open)'));
      return;
    }
    const started = now();
    const call = new ScriptCall(
      this,
      script,
      command,
      keys + 3,
      sink,
      admitted === 'probe',
      started,
      started + this.#commandTimeout,
    );
    this.#deadlines.add(call);
    const connection = this.#connection;
    if (connection.ready) {
      this.#connectedOnce = true;
      command[call.deadlineAt] = integerArg(this.#clock.deadline(started, call.deadline));
      this.#transmit(call);
      return;
    }
    // The first connect may still be under way: wait for it within the timeout. Later, a
    // connection that is down fails at once (nothing waits in an offline queue).
    if (this.#connectedOnce) {
      this.#fail(call, new Error('Redis connection is not ready'));
      return;
    }
    connection.waitReady(this.#commandTimeout).then((ready) => {
      // Its caller has given up already: a command sent now would run late.
      if (call.done) return;
      if (!ready) {
        this.#fail(call, new Error('Redis connection is not ready'));
        return;
      }
      this.#connectedOnce = true;
      call.sentAt = now();
      command[call.deadlineAt] = integerArg(this.#clock.deadline(call.sentAt, call.deadline));
      this.#transmit(call);
    });
  }

  #transmit(call: ScriptCall): void {
    let reply: Promise<unknown>;
    try {
      reply = this.#connection.send(call.command);
    } catch (error) {
      this.#rejected(call, error);
      return;
    }
    reply.then(
      (value) => this.#replied(call, value),
      (error: unknown) => this.#rejected(call, error),
    );
  }

  #replied(call: ScriptCall, reply: unknown): void {
    let values: readonly number[];
    try {
      values = decode(reply);
    } catch (error) {
      this.#rejected(call, error);
      return;
    }
    // A late reply still tells the clock offset.
    this.#clock.sample(values[1]!, call.sentAt);
    if (call.done) return;
    if (values[0] === STALE) {
      // Stale although the reply came back in time: Redis's clock stepped forward. Forget the
      // offset and send once more (without a deadline until a new sample arrives).
      this.#clock.reset();
      if (call.retriedStale) {
        this.#fail(call, new Error('Redis replied STALE twice in a row'));
        return;
      }
      call.retriedStale = true;
      const command = call.command;
      command[0] = 'evalsha';
      command[1] = call.script.sha;
      call.sentAt = now();
      command[call.deadlineAt] = integerArg(this.#clock.deadline(call.sentAt, call.deadline));
      this.#transmit(call);
      return;
    }
    call.done = true;
    this.#deadlines.prune();
    this.#breaker.success(call.probe);
    call.sink.resolve(values);
  }

  #rejected(call: ScriptCall, error: unknown): void {
    if (call.done) return;
    const command = call.command;
    // After a restart or SCRIPT FLUSH: send the source once (which also caches it again).
    if (command[0] === 'evalsha' && isReplyError(error) && error.message.startsWith('NOSCRIPT')) {
      command[0] = 'eval';
      command[1] = call.script.source;
      // The offset sample must not include the NOSCRIPT round trip.
      call.sentAt = now();
      this.#transmit(call);
      return;
    }
    this.#fail(call, error);
  }

  #fail(call: ScriptCall, error: unknown): void {
    call.done = true;
    this.#deadlines.prune();
    call.sink.reject(this.#failed(error, call.probe));
  }

  #expired(call: ScriptCall): void {
    call.sink.reject(
      this.#failed(new Error(`Redis did not answer within ${this.#commandTimeout} ms`), call.probe),
    );
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
}

/** One script call in flight: one shape for every call, and an expiry without a closure. */
class ScriptCall implements Expiring {
  /** Settled: answered, failed or expired. */
  done = false;
  /** A STALE reply was answered by sending once more. */
  retriedStale = false;
  /** When the command (last) went out, for the clock's offset sample. */
  sentAt: number;

  constructor(
    readonly store: RedisStore,
    readonly script: LuaScript,
    /** ['evalsha', sha, numKeys, ...keys, deadline, ...args]; sent again as it is on a retry. */
    readonly command: string[],
    /** Where the deadline (ARGV[1]) goes in `command`. */
    readonly deadlineAt: number,
    readonly sink: ScriptSink,
    readonly probe: boolean,
    started: number,
    /** When the caller gives up (monotonic ms). */
    readonly deadline: number,
  ) {
    this.sentAt = started;
  }

  expire(): void {
    expireCall(this);
  }
}

function decode(reply: unknown): readonly number[] {
  if (!Array.isArray(reply) || reply.length < 2) {
    throw new TypeError(`Unexpected reply from a sluice script: ${JSON.stringify(reply)}`);
  }
  // Both clients parse integer replies into numbers; anything else (a string, or a Buffer from
  // ioredis's callBuffer) is converted.
  for (let i = 0; i < reply.length; i++) {
    if (typeof reply[i] !== 'number') return reply.map(Number);
  }
  return reply;
}
