import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Mode } from '../args.js';
import { paired, type Spread, spread } from '../harness.js';
import type { InjectChildResult, InjectKind, InjectVariantSamples } from './types.js';

/** Express and Nest-on-Express through light-my-request, Nest-on-Fastify through fastify.inject, Hono through app.request(). */
export const INJECT_FRAMEWORKS = ['express', 'hono', 'nestjs-express', 'nestjs-fastify'] as const;

const here = new URL('./', import.meta.url);
const childScript = fileURLToPath(new URL('child.js', here));

export interface InjectPlan {
  /** Interleaved rounds: every variant once per round, the first one rotating. */
  rounds: number;
  /** A sample is sized (from the bare row's warm-up speed) to take about this long. */
  sampleMs: number;
  minRequests: number;
  maxRequests: number;
  /** Requests kept in flight (more than the queued rows' limit of 10, so they do queue). */
  inFlight: number;
  warmupRequests: number;
}

export function injectPlan(mode: Mode, rounds?: number): InjectPlan {
  const plans: Record<Mode, InjectPlan> = {
    full: {
      rounds: 12,
      sampleMs: 250,
      minRequests: 500,
      maxRequests: 50_000,
      inFlight: 32,
      warmupRequests: 2_000,
    },
    quick: {
      rounds: 5,
      sampleMs: 80,
      minRequests: 200,
      maxRequests: 20_000,
      inFlight: 32,
      warmupRequests: 500,
    },
    smoke: {
      rounds: 2,
      sampleMs: 10,
      minRequests: 40,
      maxRequests: 200,
      inFlight: 32,
      warmupRequests: 40,
    },
  };
  const plan = plans[mode];
  return rounds === undefined ? plan : { ...plan, rounds };
}

/** Which clock the figures and targets use. */
export type InjectMetric = 'cpu' | 'wall';

export interface InjectRow {
  name: string;
  kind: InjectKind;
  /** µs per request (the chosen metric): median over rounds, with its IQR. */
  us?: Spread;
  /** The other clock's median, for reference. */
  otherUs?: number;
  /** Paired per round: this row's µs minus the bare row's (and the no-op row's). */
  overBare?: Spread;
  overNoop?: Spread;
  /** Paired per round: this row's µs ÷ the bare row's (and the no-op row's). */
  vsBare?: Spread;
  vsNoop?: Spread;
  non200: number;
  note?: string;
  samples: InjectVariantSamples;
}

export interface InjectFramework {
  framework: string;
  skipped?: string;
  requestsPerSample?: number;
  inFlight?: number;
  rows: InjectRow[];
}

export interface InjectResult {
  metric: InjectMetric;
  plan: InjectPlan;
  frameworks: InjectFramework[];
}

function runChild(framework: string, plan: InjectPlan): Promise<InjectChildResult> {
  const ts = existsSync(new URL(`${framework}.ts`, here));
  const args = ['--expose-gc', ...(ts ? ['--import', 'tsx'] : []), childScript, framework];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, JSON.stringify(plan)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: fileURLToPath(new URL('../../', here)),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-2000);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(line) as InjectChildResult | { error: string };
        if ('error' in parsed) reject(new Error(parsed.error.split('\n')[0]));
        else resolve(parsed);
      } catch {
        reject(new Error(`${framework} exited with ${code}: ${(line || err).trim().slice(-500)}`));
      }
    });
  });
}

const pick = (s: InjectVariantSamples, metric: InjectMetric) => ({
  samples: metric === 'cpu' ? s.cpuUs : s.wallUs,
  rounds: s.rounds,
});

/** Medians, and the per-round differences and ratios to the bare and no-op rows. */
export function summarizeInject(child: InjectChildResult, metric: InjectMetric): InjectFramework {
  const bare = child.variants.find((v) => v.kind === 'bare');
  const noop = child.variants.find((v) => v.kind === 'noop');
  const rows = child.variants.map((v): InjectRow => {
    const mine = pick(v, metric);
    const other = spread(metric === 'cpu' ? v.wallUs : v.cpuUs);
    const row: InjectRow = {
      name: v.name,
      kind: v.kind,
      non200: v.non200,
      samples: v,
      ...(v.note ? { note: v.note } : {}),
    };
    const us = spread(mine.samples);
    if (us) row.us = us;
    if (other) row.otherUs = other.median;
    const against = (base: InjectVariantSamples | undefined) =>
      base && base !== v
        ? {
            diff: paired(mine, pick(base, metric), (x, y) => x - y),
            ratio: paired(mine, pick(base, metric), (x, y) => x / y),
          }
        : undefined;
    const b = against(bare);
    if (b?.diff) row.overBare = b.diff;
    if (b?.ratio) row.vsBare = b.ratio;
    const n = against(noop);
    if (n?.diff) row.overNoop = n.diff;
    if (n?.ratio) row.vsNoop = n.ratio;
    if (v.non200 > 0) row.note = [row.note, `${v.non200} non-200`].filter(Boolean).join('; ');
    return row;
  });
  return {
    framework: child.framework,
    requestsPerSample: child.requestsPerSample,
    inFlight: child.inFlight,
    rows,
  };
}

/**
 * In-process HTTP overhead: per framework, one child process starts every variant and drives
 * them without sockets in interleaved rounds. A framework whose child fails is skipped with
 * the reason.
 */
export async function runInject(options: {
  mode: Mode;
  log: (line: string) => void;
  frameworks?: readonly string[];
  rounds?: number;
  metric?: InjectMetric;
}): Promise<InjectResult> {
  const plan = injectPlan(options.mode, options.rounds);
  const metric = options.metric ?? 'cpu';
  const frameworks: InjectFramework[] = [];
  for (const framework of options.frameworks ?? INJECT_FRAMEWORKS) {
    options.log(`in-process ${framework}: ${plan.rounds} rounds`);
    try {
      frameworks.push(summarizeInject(await runChild(framework, plan), metric));
    } catch (error) {
      frameworks.push({ framework, skipped: (error as Error).message, rows: [] });
    }
  }
  return { metric, plan, frameworks };
}
