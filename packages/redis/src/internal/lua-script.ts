import { createHash } from 'node:crypto';

/**
 * A Lua script called by SHA (EVALSHA). Every sluice script follows one convention, which the
 * store relies on: ARGV[1] is a deadline on Redis's clock in µs (0: none), the script starts with
 * PRELUDE, and its reply is an array whose first two items are a status and Redis's time in µs.
 * Status STALE (-1) means the command ran past its deadline and changed nothing.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  /** The script without PRELUDE (tests run it after a prelude of their own). */
  readonly body: string;

  constructor(body: string) {
    this.body = body;
    this.source = PRELUDE + body;
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }
}

export const STALE = -1;

/**
 * `String(n)` for an integer 0 ≤ n < 2^53, such as a µs timestamp (about 1.8e15), in a third of
 * the time: V8 prints a number above 2^31 by its general double-to-string path, and two halves
 * below 1e8 as small integers. (`n / 1e8` is off by less than the 1e-8 that separates it from
 * the next integer, so `high` is exact.)
 */
export function integerArg(n: number): string {
  if (n < 1e8) return String(n);
  const high = Math.floor(n / 1e8);
  return String(high) + String(n - high * 1e8 + 1e8).slice(1);
}

// Redis's own clock; no client clock is ever sent as "now". Integers up to 2^53 are exact in Lua's
// doubles and in JavaScript, so µs timestamps travel as integer replies (never via tostring, which
// would print 1.8e+15 and lose digits).
// The strings become numbers by Lua's own coercion (the same strtod as tonumber, without a C call).
const PRELUDE = `local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local deadline = ARGV[1] + 0
if deadline > 0 and now > deadline then return {-1, now} end
`;
