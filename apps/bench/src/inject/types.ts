/**
 * What `src/inject/<framework>.ts` (or `.js`) exports: each variant builds an app that answers
 * `GET /` with `hello`, driven in-process (no socket) through `request()`.
 *
 * Kinds, the same in every framework: `bare` (hello-world), `noop` (a do-nothing middleware or
 * guard: the price of having one at all), `concurrency` (sluice, limit far above the load),
 * `queued` (sluice at limit 10 under more concurrent requests: waiting is measured too),
 * `rateLimit` (sluice, one key, never refusing) and `peer` (the framework's usual limiter, never
 * refusing).
 */
export type InjectKind = 'bare' | 'noop' | 'concurrency' | 'queued' | 'rateLimit' | 'peer';

export interface InjectApp {
  /** One request; resolves with the status code once the response has ended. */
  request(): Promise<number>;
  /** A message when something the row relies on did not hold (e.g. nobody ever queued). */
  check?(): string | undefined;
  close(): Promise<void>;
}

export interface InjectVariant {
  name: string;
  kind: InjectKind;
  start(): Promise<InjectApp>;
}

/** One framework's variants as the child process measured them. */
export interface InjectChildResult {
  framework: string;
  /** How each variant was driven: requests per sample and how many were kept in flight. */
  requestsPerSample: number;
  inFlight: number;
  variants: InjectVariantSamples[];
}

export interface InjectVariantSamples {
  name: string;
  kind: InjectKind;
  /** Process CPU time (user + system) per request, µs: one per round. */
  cpuUs: number[];
  /** Wall-clock time per request, µs: one per round. */
  wallUs: number[];
  /** The round each sample was taken in. */
  rounds: number[];
  /** Responses other than 200 (a limiter that refused would show here). */
  non200: number;
  note?: string;
}
