// The default rate-limit key: the peer address of the connection, read from what the runtime's
// Hono adapter passes as `c.env`, without importing any runtime-specific module. Request headers
// (X-Forwarded-For and friends) are never read: any client can write them.
import type { Context } from 'hono';

/** What `getConnInfo` of `@hono/node-server/conninfo`, `hono/bun`, `hono/deno`... returns. */
export interface ConnInfoLike {
  remote: { address?: string };
}

export type GetConnInfo = (c: Context<any>) => ConnInfoLike;

type Socketish = { socket?: { remoteAddress?: string } };
type BunServerish = { requestIP(request: Request): { address?: string } | null };

function bunServer(value: unknown): BunServerish | undefined {
  return typeof (value as Partial<BunServerish> | undefined)?.requestIP === 'function'
    ? (value as BunServerish)
    : undefined;
}

// Stands in for a connection whose address the runtime no longer knows (a socket already
// closed): such clients share one bucket rather than bypassing the limit.
const UNKNOWN = 'unknown';

/**
 * The client address, or undefined when the runtime is not one we recognise:
 * - @hono/node-server: `c.env.incoming.socket.remoteAddress` (what its getConnInfo reads);
 * - Bun: `c.env.requestIP(c.req.raw)` (the server passed as env by `Bun.serve`);
 * - Deno: `c.env.remoteAddr.hostname` (the handler info passed as env by `Deno.serve`).
 */
export function connectionAddress(c: Context): string | undefined {
  const env = c.env as Record<string, unknown> | undefined;
  if (env === undefined || env === null || typeof env !== 'object') return undefined;
  const server = env.server as Record<string, unknown> | undefined;
  const incoming = (env.incoming ?? server?.incoming) as Socketish | undefined;
  if (incoming?.socket !== undefined) return incoming.socket.remoteAddress ?? UNKNOWN;
  const bun = bunServer(env) ?? bunServer(server);
  if (bun !== undefined) return bun.requestIP(c.req.raw)?.address ?? UNKNOWN;
  const remoteAddr = env.remoteAddr as { hostname?: unknown } | undefined;
  if (typeof remoteAddr?.hostname === 'string') return remoteAddr.hostname;
  return undefined;
}

export function connInfoAddress(getConnInfo: GetConnInfo, c: Context): string {
  return getConnInfo(c).remote.address ?? UNKNOWN;
}

export const NO_ADDRESS_MESSAGE =
  'rateLimit(): cannot tell the client address on this runtime (not @hono/node-server, Bun or Deno). ' +
  "Pass a `key` option, `(c) => string`, or `getConnInfo` from your runtime's Hono adapter " +
  "(e.g. `import { getConnInfo } from 'hono/cloudflare-workers'`). " +
  'Do not key on a raw X-Forwarded-For header: any client can set it.';
