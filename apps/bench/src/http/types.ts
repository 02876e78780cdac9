/**
 * What `src/http/<framework>-servers.ts` (or `.js`) exports (express | hono | nestjs): each variant serves
 * `GET /` -> `hello` on 127.0.0.1, port 0. Names: `bare`, `sluice concurrency`,
 * `sluice rateLimit`, and the framework's peer limiter.
 */
export interface HttpVariant {
  name: string;
  start(): Promise<{ port: number; close(): Promise<void> }>;
}

export interface HttpVariantResult {
  name: string;
  /** Requests per second, one per repetition. */
  samples: number[];
  medianRps?: number;
  /** p99 latency of the median repetition, ms. */
  p99Ms?: number;
  /** Non-2xx responses seen (a limiter that refused would show here). */
  non2xx: number;
  errors: number;
  /** medianRps ÷ the bare server's. */
  vsBare?: number;
  /** The server process's CPU time (user + system) per request, µs: median of the repetitions. */
  cpuUsPerRequest?: number;
  /** cpuUsPerRequest ÷ the bare server's (above 1: costs more CPU per request). */
  cpuVsBare?: number;
  note?: string;
}

export interface HttpFrameworkResult {
  framework: string;
  skipped?: string;
  variants: HttpVariantResult[];
}

export interface HttpResult {
  connections: number;
  durationSeconds: number;
  reps: number;
  frameworks: HttpFrameworkResult[];
}
