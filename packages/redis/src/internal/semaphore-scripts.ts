// The semaphore's decisions, each one Lua script on Redis's clock (see lua-script.ts for the
// prelude: `now` in µs, ARGV[1] the staleness deadline). Per limiter (or per key of a keyed
// one), four keys under one hash tag:
//
//   holders  ZSET  id -> lease deadline (server ms)
//   queue    ZSET  id -> ticket (order of first enqueue)
//   waiters  ZSET  id -> waiter deadline (server ms): a waiter that stops heartbeating lapses
//   data     HASH  w:<id> weight, f:<id> fence; for a waiter l:<id> its lease (ms) and c:<id>
//                  its process's channel; used, fence (last), seq, cap, max (highest used)
//
// Every script first reaps a bounded batch of expired holders and lapsed waiters, then grants
// the queue's head waiters, in ticket order, as long as their weight fits: after any script the
// head does not fit (or the queue is empty). A grant made for a waiter is published to its
// process's channel (one per limiter and store, so no other process hears it) with everything
// needed to hand out the permit (id, fence, lease left, Redis time): a hand-off costs no round
// trip. The message is only a shortcut: the
// waiter's next acquire (poll, timer, heartbeat) finds the grant already made and returns it.
// Such a grant's lease ends no later than the waiter's own deadline, so a waiter that died just
// before it was granted holds the weight no longer than a dead waiter blocks the queue.
// Finally every script keeps the keys' TTLs (see upkeep): every key lives at least a grace second
// past the latest deadline in any of them, and an idle limiter leaves nothing a second later.
// Replies are status codes, never error strings.

import type { SemaphoreStats } from '@sluice/core';
import { type RedisStore, runScript } from '../redis-store.js';
import { LuaScript } from './lua-script.js';

export const DENIED = 0;
export const GRANTED = 1;
export const QUEUED = 2;
export const FULL = 3;
export const MISMATCH = 4;

/**
 * The four keys of one limiter (or one key of a keyed limiter), and the start of its channels'
 * names (each store listens on `${channel}:${its token}`).
 */
export interface SemaphoreKeys {
  readonly keys: readonly [string, string, string, string];
  readonly channel: string;
}

/**
 * `sub` is a keyed limiter's key part. Its keys share the limiter's channels (a store
 * subscribes once per limiter, however many keys): messages carry the waiter's id.
 */
export function semaphoreKeys(store: RedisStore, name: string, sub = ''): SemaphoreKeys {
  const part = (suffix: string) => store.key(name, `${sub}${suffix}`);
  return {
    keys: [part('holders'), part('queue'), part('waiters'), part('data')],
    channel: store.key(name, 'wake'),
  };
}

const COMMON = `local nowMs = math.floor(now / 1000)
local function reap(H, Q, W, D)
  -- Nothing held or queued (an idle limiter's next acquire): nothing to reap, in one call.
  if redis.call('EXISTS', H, W) == 0 then return end
  local gone = redis.call('ZRANGEBYSCORE', H, '-inf', nowMs, 'LIMIT', 0, 64)
  for _, id in ipairs(gone) do
    local wt = tonumber(redis.call('HGET', D, 'w:' .. id)) or 0
    redis.call('HINCRBY', D, 'used', -wt)
    redis.call('HDEL', D, 'w:' .. id, 'f:' .. id)
    redis.call('ZREM', H, id)
  end
  local lapsed = redis.call('ZRANGEBYSCORE', W, '-inf', nowMs, 'LIMIT', 0, 64)
  for _, id in ipairs(lapsed) do
    redis.call('ZREM', Q, id)
    redis.call('ZREM', W, id)
    redis.call('HDEL', D, 'w:' .. id, 'l:' .. id, 'c:' .. id)
  end
  if #gone > 0 and redis.call('ZCARD', H) == 0 then redis.call('HSET', D, 'used', 0) end
end
-- The used weight as it should be: 0 with no holder (a self-heal, checked only when used
-- blocks a grant).
local function healed(H, used)
  if used > 0 and redis.call('ZCARD', H) == 0 then return 0 end
  return used
end
-- Grants the queue's head waiters in ticket order while their weight fits. Returns whether the
-- queue is known to be empty afterwards, the latest lease deadline it set (0: none) and how many
-- it granted. state: D's cap, used, fence and max if the caller has just read them.
local function grantHeads(H, Q, W, D, state)
  local head = redis.call('ZRANGE', Q, 0, 0)[1]
  if not head then return true, 0, 0 end
  state = state or redis.call('HMGET', D, 'cap', 'used', 'fence', 'max')
  local cap = tonumber(state[1]) or 0
  local used = tonumber(state[2]) or 0
  local last = tonumber(state[3]) or 0
  local max = tonumber(state[4]) or 0
  local granted, top = 0, 0
  for _ = 1, 64 do
    -- Full: no waiter fits (each weighs at least 1), whatever the head's weight.
    if used >= cap then
      if granted == 0 then used = healed(H, used) end
      if used >= cap then break end
    end
    local info = redis.call('HMGET', D, 'w:' .. head, 'l:' .. head, 'c:' .. head)
    local wt = tonumber(info[1]) or 1
    if used + wt > cap then
      used = healed(H, used)
      if used + wt > cap then break end
    end
    local lapses = tonumber(redis.call('ZSCORE', W, head)) or 0
    redis.call('ZREM', Q, head)
    redis.call('ZREM', W, head)
    if lapses > nowMs then
      local lease = math.min(tonumber(info[2]) or 0, lapses - nowMs)
      last = math.max(last + 1, now)
      local text = string.format('%.0f', last)
      used = used + wt
      if used > max then max = used end
      redis.call('HSET', D, 'f:' .. head, text)
      redis.call('HDEL', D, 'l:' .. head, 'c:' .. head)
      redis.call('ZADD', H, nowMs + lease, head)
      if nowMs + lease > top then top = nowMs + lease end
      if info[3] then
        redis.call('PUBLISH', info[3],
          head .. ' ' .. text .. ' ' .. lease .. ' ' .. string.format('%.0f', now))
      end
      granted = granted + 1
    else
      redis.call('HDEL', D, 'w:' .. head, 'l:' .. head, 'c:' .. head)
    end
    -- Full now: the next head is not read (so the queue is not known to be empty).
    if used >= cap then break end
    head = redis.call('ZRANGE', Q, 0, 0)[1]
    if not head then break end
  end
  if granted > 0 then
    redis.call('HSET', D, 'used', used, 'fence', string.format('%.0f', last), 'max', max)
  end
  return head == nil, top, granted
end
-- TTLs. Every key expires together with D, at least GRACE ms past the latest
-- deadline stored in any key. Only a later deadline extends them (to it + GRACE + SLACK, so a
-- busy limiter pays for it about once per SLACK, not on every call); a key this script may have
-- (re)created gets D's expiry; once nothing is held or queued only D is left, and it expires
-- GRACE from now. Queue and waiters hold the same ids (added and removed together).
local GRACE, SLACK = 1000, 1000
-- From the stored deadlines: the repair for a D without an expiry (it should always have one).
local function touch(H, Q, W, D, top)
  local last = math.max(nowMs, top)
  local high = redis.call('ZRANGE', H, -1, -1, 'WITHSCORES')
  if high[2] and tonumber(high[2]) > last then last = tonumber(high[2]) end
  high = redis.call('ZRANGE', W, -1, -1, 'WITHSCORES')
  if high[2] and tonumber(high[2]) > last then last = tonumber(high[2]) end
  local ttl = last - nowMs + GRACE + SLACK
  redis.call('PEXPIRE', H, ttl)
  redis.call('PEXPIRE', Q, ttl)
  redis.call('PEXPIRE', W, ttl)
  redis.call('PEXPIRE', D, ttl)
end
-- top: the latest deadline this script set (0: none); added: holders it added; queued: whether
-- it added to the queue and the waiters; empty: the queue is known to be empty (so are the
-- waiters), which spares two calls.
local function upkeep(H, Q, W, D, top, added, queued, empty)
  local nh = redis.call('ZCARD', H)
  local nq = 0
  if not empty then nq = redis.call('ZCARD', Q) end
  if nh == 0 and nq == 0 and (empty or redis.call('ZCARD', W) == 0) then
    redis.call('PEXPIRE', D, GRACE)
    return
  end
  local left = redis.call('PTTL', D)
  if left < 0 then return touch(H, Q, W, D, top) end
  local exp = nowMs + left
  if top + GRACE > exp then
    exp = top + GRACE + SLACK
    redis.call('PEXPIREAT', D, exp)
    if nh > 0 then redis.call('PEXPIREAT', H, exp) end
    if nq > 0 then
      redis.call('PEXPIREAT', Q, exp)
      redis.call('PEXPIREAT', W, exp)
    end
    return
  end
  -- A key holding only what this script added may have been created by it, without a TTL.
  if added > 0 and nh == added then redis.call('PEXPIREAT', H, exp) end
  if queued and nq == 1 then
    redis.call('PEXPIREAT', Q, exp)
    redis.call('PEXPIREAT', W, exp)
  end
end
local function nextExpiry(H)
  local first = redis.call('ZRANGE', H, 0, 0, 'WITHSCORES')
  if first[2] then return tonumber(first[2]) - nowMs end
  return -1
end
`;

// ARGV: deadline, cap, weight, id, leaseMs, waiterTtlMs, mode (0: now or never, 1: queue),
// maxWaiting (-1: no limit), channel (this process's, for the grant message).
// Replies: {GRANTED, now, fence, lease ms left} | {DENIED, now, next expiry ms} |
// {QUEUED, now, next expiry ms, rank} | {FULL, now} | {MISMATCH, now, stored cap}.
// A grant made earlier for this id (by this script or by grantHeads) is returned as it is: a
// retried or repeated acquire is the same acquire.
const acquireScript = new LuaScript(`${COMMON}
local H, Q, W, D = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cap = tonumber(ARGV[2])
local weight = tonumber(ARGV[3])
local id = ARGV[4]
local lease = tonumber(ARGV[5])
local waiterTtl = tonumber(ARGV[6])
local mode = tonumber(ARGV[7])
local maxWaiting = tonumber(ARGV[8])
local channel = ARGV[9]
reap(H, Q, W, D)
local state = redis.call('HMGET', D, 'cap', 'used', 'fence', 'max')
local stored = tonumber(state[1])
if stored ~= cap then
  if stored and (redis.call('ZCARD', H) > 0 or redis.call('ZCARD', Q) > 0) then
    local held = redis.call('ZSCORE', H, id)
    if held then
      return {1, now, tonumber(redis.call('HGET', D, 'f:' .. id)), tonumber(held) - nowMs}
    end
    return {4, now, stored}
  end
  redis.call('HSET', D, 'cap', cap)
  state[1] = cap
end
local empty, top, added = grantHeads(H, Q, W, D, state)
local held = redis.call('ZSCORE', H, id)
if held then
  return {1, now, tonumber(redis.call('HGET', D, 'f:' .. id)), tonumber(held) - nowMs}
end
-- After grantHeads the head (if any) does not fit: only an empty queue lets a newcomer in.
if empty then
  -- Read before grantHeads: read again if it changed them.
  if added > 0 then state = redis.call('HMGET', D, 'cap', 'used', 'fence', 'max') end
  local used = tonumber(state[2]) or 0
  if used + weight > cap then used = healed(H, used) end
  if used + weight <= cap then
    local fence = math.max((tonumber(state[3]) or 0) + 1, now)
    local text = string.format('%.0f', fence)
    used = used + weight
    redis.call('HSET', D, 'fence', text, 'f:' .. id, text, 'w:' .. id, weight, 'used', used)
    if used > (tonumber(state[4]) or 0) then redis.call('HSET', D, 'max', used) end
    redis.call('ZADD', H, nowMs + lease, id)
    upkeep(H, Q, W, D, math.max(top, nowMs + lease), added + 1, false, true)
    return {1, now, fence, lease}
  end
end
if mode == 0 then
  upkeep(H, Q, W, D, top, added, false, empty)
  return {0, now, nextExpiry(H)}
end
if not redis.call('ZSCORE', Q, id) then
  if maxWaiting >= 0 and redis.call('ZCARD', Q) >= maxWaiting then
    upkeep(H, Q, W, D, top, added, false)
    return {3, now}
  end
  redis.call('ZADD', Q, redis.call('HINCRBY', D, 'seq', 1), id)
  redis.call('HSET', D, 'w:' .. id, weight, 'l:' .. id, lease, 'c:' .. id, channel)
end
redis.call('ZADD', W, nowMs + waiterTtl, id)
upkeep(H, Q, W, D, math.max(top, nowMs + waiterTtl), added, true)
return {2, now, nextExpiry(H), redis.call('ZRANK', Q, id)}
`);

// ARGV: deadline, id. Releases a holder or removes a waiter; safe to repeat.
// Reply: {1, now, 1 released | 2 dequeued | 0 neither (expired or never there)}.
const leaveScript = new LuaScript(`${COMMON}
local H, Q, W, D = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id = ARGV[2]
reap(H, Q, W, D)
local result = 0
if redis.call('ZREM', H, id) == 1 then
  local wt = tonumber(redis.call('HGET', D, 'w:' .. id)) or 0
  local left = redis.call('HINCRBY', D, 'used', -wt)
  if left < 0 or (left > 0 and redis.call('ZCARD', H) == 0) then
    redis.call('HSET', D, 'used', 0)
  end
  redis.call('HDEL', D, 'w:' .. id, 'f:' .. id)
  result = 1
elseif redis.call('ZREM', Q, id) == 1 then
  redis.call('ZREM', W, id)
  redis.call('HDEL', D, 'w:' .. id, 'l:' .. id, 'c:' .. id)
  result = 2
end
local empty, top, added = grantHeads(H, Q, W, D)
upkeep(H, Q, W, D, top, added, false, empty)
return {1, now, result}
`);

// One call for every limiter of a process: ARGV: deadline, groups, then per group: leaseMs,
// waiterTtlMs, holder count, waiter count, holder ids..., waiter ids...; KEYS: four per
// group. A holder is extended only while its lease is unexpired (a refresh never re-acquires);
// a waiter only while it is still queued. Reply: {1, now, then per id: 1 kept | 0 lost/gone}.
const keepAliveScript = new LuaScript(`${COMMON}
local out = {1, now}
local a = 3
for g = 0, tonumber(ARGV[2]) - 1 do
  local H, Q, W, D = KEYS[g * 4 + 1], KEYS[g * 4 + 2], KEYS[g * 4 + 3], KEYS[g * 4 + 4]
  local lease = tonumber(ARGV[a])
  local waiterTtl = tonumber(ARGV[a + 1])
  local nh = tonumber(ARGV[a + 2])
  local nw = tonumber(ARGV[a + 3])
  a = a + 4
  local top = 0
  reap(H, Q, W, D)
  for i = 1, nh do
    local id = ARGV[a]
    a = a + 1
    local score = redis.call('ZSCORE', H, id)
    if score and tonumber(score) > nowMs then
      redis.call('ZADD', H, nowMs + lease, id)
      top = nowMs + lease
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
  for i = 1, nw do
    local id = ARGV[a]
    a = a + 1
    if redis.call('ZSCORE', Q, id) then
      redis.call('ZADD', W, nowMs + waiterTtl, id)
      top = math.max(top, nowMs + waiterTtl)
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
  local _, grantTop, added = grantHeads(H, Q, W, D)
  upkeep(H, Q, W, D, math.max(top, grantTop), added, false)
end
return out
`);

// ARGV: deadline. Reply: {1, now, used, holders, waiters, cap, max}.
const statsScript = new LuaScript(`${COMMON}
local H, Q, W, D = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
reap(H, Q, W, D)
local _, top, added = grantHeads(H, Q, W, D)
upkeep(H, Q, W, D, top, added, false)
return {1, now, tonumber(redis.call('HGET', D, 'used')) or 0, redis.call('ZCARD', H),
  redis.call('ZCARD', Q), tonumber(redis.call('HGET', D, 'cap')) or -1,
  tonumber(redis.call('HGET', D, 'max')) or 0}
`);

export interface AcquireRequest {
  capacity: number;
  weight: number;
  id: string;
  lease: number;
  waiterTtl: number;
  /** false: now or never (DENIED instead of queueing). */
  queue: boolean;
  maxWaiting: number;
  /** Where a grant made while queued is sent (this store's channel); default: nobody's. */
  channel?: string;
}

export function acquireCall(
  store: RedisStore,
  at: SemaphoreKeys,
  r: AcquireRequest,
): Promise<readonly number[]> {
  return runScript(store, acquireScript, at.keys, [
    String(r.capacity),
    String(r.weight),
    r.id,
    String(r.lease),
    String(r.waiterTtl),
    r.queue ? '1' : '0',
    Number.isFinite(r.maxWaiting) ? String(r.maxWaiting) : '-1',
    r.channel ?? at.channel,
  ]);
}

export function leaveCall(
  store: RedisStore,
  at: SemaphoreKeys,
  id: string,
): Promise<readonly number[]> {
  return runScript(store, leaveScript, at.keys, [id]);
}

/** Gauges as Redis sees them (fleet-wide), with this process's counters. */
export async function statsOf(
  store: RedisStore,
  at: SemaphoreKeys,
  capacity: number,
  counters: Readonly<Record<'acquired' | 'timedOut' | 'aborted' | 'rejected', number>>,
): Promise<SemaphoreStats> {
  const [, , used = 0, , waiting = 0, , max = 0] = await runScript(store, statsScript, at.keys, []);
  return {
    capacity,
    available: Math.max(0, capacity - used),
    inUse: used,
    waiting,
    maxInUse: max,
    ...counters,
  };
}

export interface KeepAliveGroup {
  at: SemaphoreKeys;
  lease: number;
  waiterTtl: number;
  holders: readonly string[];
  waiters: readonly string[];
}

/** One script for every group; resolves with one flag per id, in the order sent. */
export async function keepAliveCall(
  store: RedisStore,
  groups: readonly KeepAliveGroup[],
): Promise<readonly number[]> {
  const keys: string[] = [];
  const args: string[] = [String(groups.length)];
  for (const g of groups) {
    keys.push(...g.at.keys);
    args.push(
      String(g.lease),
      String(g.waiterTtl),
      String(g.holders.length),
      String(g.waiters.length),
      ...g.holders,
      ...g.waiters,
    );
  }
  return runScript(store, keepAliveScript, keys, args);
}
