// GCRA (the generic cell rate algorithm) as one Lua script: one key per bucket holding the
// theoretical arrival time (TAT) in µs, and a TTL equal to the time until the bucket is full
// again, so a full bucket leaves no key. T = 1/rate is the emission interval, C the capacity.
//
//   tat = max(stored, now);  newTat = tat + n·T;  wait = newTat − C·T − now
//   wait ≤ 0              grant now, store newTat
//   0 < wait ≤ maxWait    reserve: store newTat, the caller sleeps `wait` (FIFO by script order)
//   otherwise             deny, retry after `wait`; nothing stored
//
// Status codes, never error strings (Redis 7 prefixes those with "ERR").

import { type RedisStore, runScript } from '../redis-store.js';
import { LuaScript } from './lua-script.js';

export const DENIED = 0;
export const GRANTED = 1;
export const RESERVED = 2;

// ARGV: deadline (prelude), T in µs, C, n, maxWait in µs (-1: any wait).
// TATs are stored with %.0f: tostring would print 1.8e+15 and lose digits. Whole µs make each
// stored TAT off by at most 0.5 µs, so a wait under 1 µs counts as none. Above about a million
// tokens per second T is below the resolution of a µs timestamp (about 0.25 µs near 1.8e15):
// the TTL is then at least 1 ms and the bucket admits everything within its burst.
const script = new LuaScript(`local interval = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
local maxWait = tonumber(ARGV[5])
local burst = capacity * interval
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local newTat = tat + tokens * interval
local wait = newTat - burst - now
if wait < 1 then wait = 0 end
if maxWait >= 0 and wait > maxWait then
  return {0, now, math.ceil(wait), 0}
end
redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', math.max(1, math.ceil((newTat - now) / 1000)))
local remaining = math.floor((burst - (newTat - now)) / interval + 1e-9)
if remaining < 0 then remaining = 0 end
if wait > 0 then return {2, now, math.ceil(wait), remaining} end
return {1, now, 0, remaining}
`);

/** A decision as the script returns it: [status, Redis's time in µs, wait in µs, remaining]. */
export type GcraReply = readonly number[];
/** Denied: the wait a request made now would have; reserved: the sleep until the grant. µs. */
export const WAIT_US = 2;
/** Whole tokens left after this decision. */
export const REMAINING = 3;

/** The settings a decision needs, precomputed once per limiter. */
export interface GcraSettings {
  capacity: string;
  interval: string;
}

export function gcraSettings(capacity: number, refillPerSecond: number): GcraSettings {
  return { capacity: String(capacity), interval: String(1e6 / refillPerSecond) };
}

/** One decision: one script, one round trip. `maxWaitMs` undefined: wait any time. */
export function gcra(
  store: RedisStore,
  key: string,
  settings: GcraSettings,
  tokens: number,
  maxWaitMs: number | undefined,
): Promise<GcraReply> {
  const maxWait = maxWaitMs === undefined ? '-1' : String(Math.floor(maxWaitMs * 1000));
  return runScript(
    store,
    script,
    [key],
    [settings.interval, settings.capacity, String(tokens), maxWait],
  );
}
