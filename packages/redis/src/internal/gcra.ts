// GCRA (the generic cell rate algorithm) in Lua, one script call per decision or batch: one key
// per bucket holding the theoretical arrival time (TAT) in µs, and a TTL equal to the time until
// the bucket is full again, so a full bucket leaves no key. T = 1/rate is the emission
// interval, C the capacity.
//
//   tat = max(stored, now);  newTat = tat + n·T;  wait = newTat − C·T − now
//   wait ≤ 0              grant now, store newTat
//   0 < wait ≤ maxWait    reserve: store newTat, the caller sleeps `wait` (FIFO by script order)
//   otherwise             deny, retry after `wait`; nothing stored
//
// Status codes, never error strings (Redis 7 prefixes those with "ERR").

import { type RedisStore, type ScriptSink, sendScript } from '../redis-store.js';
import { LuaScript } from './lua-script.js';

export const DENIED = 0;
export const GRANTED = 1;
export const RESERVED = 2;

// ARGV: deadline (prelude), T in µs, C, then per key: n, maxWait in µs (-1: any wait).
// Reply: {1, now} and then {status, wait, remaining} per key, in KEYS order.
// One script decides a batch: every decision of one limiter asked for in the same tick goes in
// one call, so under load Redis runs one script (and one TIME) for many decisions. The keys of
// a batch are decided in order, so a key named twice sees its first decision, as if sent apart.
// A lone decision (the common case at low load) goes to a copy of the same body without the
// loop: the same arguments and reply, a little less work for Redis.
// TATs are stored as whole µs, rounded as %.0f does (half to even) but by arithmetic, and
// passed to redis.call as a number: Redis prints a whole number below 2^53 as an integer (7.0 with
// %.17g, later versions with ll2string), never as tostring's lossy 1.8e+15, and the C call to
// string.format cost about 0.3 µs a decision. Whole µs make each stored TAT off by at most
// 0.5 µs, so a wait under 1 µs counts as none. Above about a million
// tokens per second T is below the resolution of a µs timestamp (about 0.25 µs near 1.8e15):
// the TTL is then at least 1 ms and the bucket admits everything within its burst.
// Each C call costs Redis time: numbers come from ARGV by Lua's own coercion (`+ 0`, the same
// strtod as tonumber), and ceil/floor of the non-negative values here are `x - x % 1` (+ 1),
// exact for doubles below 2^53 (a negative `remaining` ends up 0 either way). The TTL argument
// is a whole number, which redis.call prints as an integer. test/gcra-script.test.ts checks
// that every decision equals the plain formulation (tonumber, math.ceil, math.floor).
const decision = (
  key: string,
  tokens: string,
  maxWait: string,
) => `local tat = tonumber(redis.call('GET', KEYS[${key}])) or now
if tat < now then tat = now end
local newTat = tat + ARGV[${tokens}] * interval
local wait = newTat - burst - now
if wait < 1 then wait = 0 end
local whole = wait
if wait % 1 > 0 then whole = wait - wait % 1 + 1 end
local status, remaining = 0, 0
local maxWait = ARGV[${maxWait}] + 0
if maxWait < 0 or wait <= maxWait then
  local ttl = (newTat - now) / 1000
  if ttl % 1 > 0 then ttl = ttl - ttl % 1 + 1 end
  if ttl < 1 then ttl = 1 end
  local half = newTat % 1
  local stored = newTat - half
  if half > 0.5 or (half == 0.5 and stored % 2 == 1) then stored = stored + 1 end
  redis.call('SET', KEYS[${key}], stored, 'PX', ttl)
  remaining = (burst - (newTat - now)) / interval + 1e-9
  remaining = remaining - remaining % 1
  if remaining < 0 then remaining = 0 end
  if wait > 0 then status = 2 else status = 1 end
end
`;

const settings = `local interval = ARGV[2] + 0
local burst = ARGV[3] * interval
`;

export const batchScript = new LuaScript(`${settings}local reply = {1, now}
local n = 2
for i = 1, #KEYS do
${decision('i', '2 + 2 * i', '3 + 2 * i')}reply[n + 1] = status
reply[n + 2] = whole
reply[n + 3] = remaining
n = n + 3
end
return reply
`);

export const singleScript =
  new LuaScript(`${settings}${decision('1', '4', '5')}return {1, now, status, whole, remaining}
`);

/**
 * One decision: the reply of a script call that decided it alone, `[1, Redis's time in µs,
 * status, wait in µs, remaining]` (a decision of a batch gets the same shape).
 */
export type GcraReply = readonly number[];
/** DENIED, GRANTED or RESERVED. */
export const STATUS = 2;
/** Denied: the wait a request made now would have; reserved: the sleep until the grant. µs. */
export const WAIT_US = 3;
/** Whole tokens left after this decision. */
export const REMAINING = 4;

/**
 * The most decisions one script call makes: a script blocks Redis while it runs, and a batch
 * this size takes a fraction of a millisecond.
 */
const MAX_BATCH = 128;

/** Where a decision goes: `resolve` with its GcraReply, or `reject` (the store's errors). */
export type DecisionSink = ScriptSink;

interface Pending {
  key: string;
  tokens: string;
  maxWait: string;
  sink: DecisionSink;
}

/** Counts a script call of `gcra` as settled (set by Gcra). */
let settled: (gcra: Gcra) => void;

/** A call that decides one decision: its reply is the decision's, as it is. */
class Single implements ScriptSink {
  constructor(
    readonly gcra: Gcra,
    readonly sink: DecisionSink,
  ) {}

  resolve(values: readonly number[]): void {
    settled(this.gcra);
    this.sink.resolve(values);
  }

  reject(error: unknown): void {
    settled(this.gcra);
    this.sink.reject(error);
  }
}

/** A call that decides a batch: decision i is at 2 + 3i in the reply. */
class Batch implements ScriptSink {
  constructor(
    readonly gcra: Gcra,
    readonly batch: readonly Pending[],
  ) {}

  resolve(values: readonly number[]): void {
    settled(this.gcra);
    const batch = this.batch;
    const now = values[1]!;
    for (let i = 0; i < batch.length; i++) {
      const at = 2 + 3 * i;
      batch[i]!.sink.resolve([1, now, values[at]!, values[at + 1]!, values[at + 2]!]);
    }
  }

  reject(error: unknown): void {
    settled(this.gcra);
    for (const pending of this.batch) pending.sink.reject(error);
  }
}

/**
 * The decisions of one limiter. A decision is one round trip. With nothing of this limiter in
 * flight it is sent at once; otherwise it waits for the end of the tick and goes with the others
 * asked for meanwhile (like a client's auto-pipelining). So a lone caller pays nothing for
 * batching, and a hundred concurrent callers cost Redis a script or two instead of a hundred.
 * Decisions are sent, and so decided, in the order they were asked for.
 */
export class Gcra {
  readonly #store: RedisStore;
  readonly #interval: string;
  readonly #capacity: string;
  #queue: Pending[] = [];
  /** Script calls sent and not settled. */
  #inFlight = 0;

  constructor(store: RedisStore, capacity: number, refillPerSecond: number) {
    this.#store = store;
    this.#capacity = String(capacity);
    this.#interval = String(1e6 / refillPerSecond);
  }

  static {
    settled = (gcra) => {
      gcra.#inFlight--;
    };
  }

  /**
   * Decides `tokens` for `key` into `sink` (which may be called before this returns, e.g. with
   * the breaker open). `maxWaitMs` undefined: wait any time; 0: never wait.
   */
  decide(key: string, tokens: number, maxWaitMs: number | undefined, sink: DecisionSink): void {
    const maxWait =
      maxWaitMs === undefined ? '-1' : maxWaitMs === 0 ? '0' : String(Math.floor(maxWaitMs * 1000));
    if (this.#queue.length === 0) {
      if (this.#inFlight === 0) {
        // Nothing in flight: sent at once, alone, with the command built in one go.
        this.#inFlight++;
        const command = [
          'evalsha',
          singleScript.sha,
          '1',
          key,
          '', // the deadline, filled in by the store
          this.#interval,
          this.#capacity,
          String(tokens),
          maxWait,
        ];
        sendScript(this.#store, singleScript, command, 1, new Single(this, sink));
        return;
      }
      // process.nextTick runs once the current tick's promise jobs are done: by then every
      // caller woken by the same reply has asked.
      process.nextTick(this.#flush);
    }
    this.#queue.push({ key, tokens: String(tokens), maxWait, sink });
  }

  readonly #flush = (): void => {
    const queue = this.#queue;
    this.#queue = [];
    for (let i = 0; i < queue.length; i += MAX_BATCH) {
      this.#send(queue.length <= MAX_BATCH ? queue : queue.slice(i, i + MAX_BATCH));
    }
  };

  #send(batch: Pending[]): void {
    const script = batch.length === 1 ? singleScript : batchScript;
    const command = ['evalsha', script.sha, String(batch.length)];
    for (let i = 0; i < batch.length; i++) command.push(batch[i]!.key);
    command.push('', this.#interval, this.#capacity);
    for (let i = 0; i < batch.length; i++) command.push(batch[i]!.tokens, batch[i]!.maxWait);
    this.#inFlight++;
    sendScript(this.#store, script, command, batch.length, new Batch(this, batch));
  }
}
