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

  constructor(body: string) {
    this.source = PRELUDE + body;
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }
}

export const STALE = -1;

// Redis's own clock; no client clock is ever sent as "now". Integers up to 2^53 are exact in Lua's
// doubles and in JavaScript, so µs timestamps travel as integer replies (never via tostring, which
// would print 1.8e+15 and lose digits).
const PRELUDE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local deadline = tonumber(ARGV[1])
if deadline > 0 and now > deadline then return {-1, now} end
`;
