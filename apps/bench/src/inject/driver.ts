import { type ChildProcess, spawn } from 'node:child_process';
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
  /** Fresh sets of processes the rounds are split over (one process per variant only). */
  generations: number;
  /** A sample is sized (from the bare row's warm-up speed) to take about this long. */
  sampleMs: number;
  minRequests: number;
  maxRequests: number;
  /** Requests kept in flight (more than the queued rows' limit of 10, so they do queue). */
  inFlight: number;
  warmupRequests: number;
}

export function injectPlan(mode: Mode, rounds?: number, generations?: number): InjectPlan {
  const plans: Record<Mode, InjectPlan> = {
    full: {
      rounds: 12,
      generations: 4,
      sampleMs: 250,
      minRequests: 500,
      maxRequests: 50_000,
      inFlight: 32,
      warmupRequests: 2_000,
    },
    quick: {
      rounds: 5,
      generations: 1,
      sampleMs: 80,
      minRequests: 200,
      maxRequests: 20_000,
      inFlight: 32,
      warmupRequests: 500,
    },
    smoke: {
      rounds: 2,
      generations: 2,
      sampleMs: 10,
      minRequests: 40,
      maxRequests: 200,
      inFlight: 32,
      warmupRequests: 40,
    },
  };
  return {
    ...plans[mode],
    ...(rounds === undefined ? {} : { rounds }),
    ...(generations === undefined ? {} : { generations }),
  };
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
  /** Absent in results saved before the layout could be chosen (they were 'shared-process'). */
  layout?: InjectLayout;
  plan: InjectPlan;
  frameworks: InjectFramework[];
}

/** Every framework's variants, in the order the tables show them. */
const KINDS: readonly InjectKind[] = ['bare', 'noop', 'concurrency', 'queued', 'rateLimit', 'peer'];

/**
 * Extra node flags for every child, to profile rows by hand: e.g.
 * `INJECT_CHILD_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' pnpm bench:http --only express`.
 * `INJECT_KINDS=noop,concurrency` runs only those rows.
 */
const childFlags = process.env.INJECT_CHILD_FLAGS?.split(/\s+/).filter(Boolean) ?? [];

/** How the variants of one framework are laid out over child processes. */
export type InjectLayout = 'process-per-variant' | 'shared-process';

type Reply = Record<string, unknown>;

/** A child.js process, asked one thing at a time over IPC. */
class InjectChild {
  readonly ready: Promise<{ name: string; kind: InjectKind }[]>;
  readonly #process: ChildProcess;
  #pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  #stderr = '';
  #exit: Error | undefined;

  constructor(framework: string, plan: InjectPlan, kind?: InjectKind) {
    const ts = existsSync(new URL(`${framework}.ts`, here));
    const args = [
      '--expose-gc',
      ...childFlags,
      ...(ts ? ['--import', 'tsx'] : []),
      childScript,
      framework,
    ];
    this.#process = spawn(process.execPath, [...args, JSON.stringify(plan)], {
      // The child's stdout (what --trace-* flags print) goes to our stderr, away from the report.
      stdio: ['ignore', 2, 'pipe', 'ipc'],
      cwd: fileURLToPath(new URL('../../', here)),
      env: kind ? { ...process.env, INJECT_KINDS: kind } : process.env,
    });
    this.#process.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-2000);
    });
    this.#process.on('message', (reply: Reply) => {
      const pending = this.#pending;
      this.#pending = undefined;
      if (typeof reply.error === 'string') pending?.reject(new Error(reply.error.split('\n')[0]));
      else pending?.resolve(reply);
    });
    const failed = (error: Error) => {
      this.#exit = error;
      this.#pending?.reject(error);
      this.#pending = undefined;
    };
    this.#process.once('error', failed);
    this.#process.once('exit', (code, signal) => {
      failed(
        new Error(
          `${framework} ${kind ?? ''} exited with ${code ?? signal}: ${this.#stderr.trim().slice(-500)}`,
        ),
      );
    });
    this.ready = this.#reply().then((reply) => reply.ready as { name: string; kind: InjectKind }[]);
  }

  /** Sends one message; resolves with the child's reply to it. */
  ask<T>(message: Reply): Promise<T> {
    const reply = this.#reply();
    if (this.#exit === undefined) this.#process.send(message);
    return reply as Promise<T>;
  }

  /** Resolves once the process has exited: on its own within `ms` (a profile is written then), else killed. */
  async stop(ms: number): Promise<void> {
    if (this.#exit !== undefined) return;
    const exited = new Promise((resolve) => this.#process.once('exit', resolve));
    const timer = setTimeout(() => this.#process.kill(), ms);
    await exited;
    clearTimeout(timer);
  }

  #reply(): Promise<Reply> {
    if (this.#exit) return Promise.reject(this.#exit);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
  }
}

interface Sample {
  cpuUs: number;
  wallUs: number;
  bad: number;
}

/**
 * One framework's variants, each sampled once per round with the first one rotating, every
 * sample taken while every other child is idle. With one process per variant, the rounds are
 * split over `plan.generations` sets of fresh processes: a process has a speed of its own (where
 * its heap and code landed, what the JIT decided while warming up) that can differ from its
 * neighbour's by more than the 1.5 µs the target allows, and fresh sets average it out.
 */
async function runFramework(
  framework: string,
  plan: InjectPlan,
  layout: InjectLayout,
): Promise<InjectChildResult> {
  const generations = layout === 'shared-process' ? 1 : Math.min(plan.generations, plan.rounds);
  let result: InjectChildResult | undefined;
  for (let g = 0; g < generations; g++) {
    const first = Math.round((g * plan.rounds) / generations);
    const last = Math.round(((g + 1) * plan.rounds) / generations);
    const next = await runGeneration(
      framework,
      plan,
      layout,
      first,
      last,
      result?.requestsPerSample,
    );
    if (result === undefined) result = next;
    else {
      for (const [i, row] of result.variants.entries()) {
        const more = next.variants[i]!;
        row.cpuUs.push(...more.cpuUs);
        row.wallUs.push(...more.wallUs);
        row.rounds.push(...more.rounds);
        row.non200 += more.non200;
        if (more.note) row.note = more.note;
      }
    }
  }
  return result!;
}

/**
 * Rounds `first` to `last` (exclusive) on one set of child processes, started together and
 * warmed up one at a time. `requests` per sample, or sized here from the bare row's warm-up so
 * that a sample takes about `sampleMs`.
 */
async function runGeneration(
  framework: string,
  plan: InjectPlan,
  layout: InjectLayout,
  first: number,
  last: number,
  requests: number | undefined,
): Promise<InjectChildResult> {
  const wanted = process.env.INJECT_KINDS?.split(',');
  const kinds =
    layout === 'shared-process' ? [undefined] : KINDS.filter((k) => !wanted || wanted.includes(k));
  const children = kinds.map((kind) => new InjectChild(framework, plan, kind));
  let closed = false;
  try {
    const ready = await Promise.all(children.map((c) => c.ready));
    const lanes = children.flatMap((child, c) =>
      (ready[c] ?? []).map((v, variant) => ({ child, variant, ...v })),
    );
    // Warm-up: two samples each (the JIT settles).
    let bareUs = 0;
    for (const lane of lanes) {
      const s = await lane.child.ask<Sample>({
        warmup: plan.warmupRequests,
        variant: lane.variant,
      });
      if (lane.kind === 'bare' || bareUs === 0) bareUs = s.wallUs;
    }
    const n =
      requests ??
      Math.max(
        plan.minRequests,
        Math.min(plan.maxRequests, Math.round((plan.sampleMs * 1000) / Math.max(bareUs, 0.1))),
      );
    const rows: InjectVariantSamples[] = lanes.map((l) => ({
      name: l.name,
      kind: l.kind,
      cpuUs: [],
      wallUs: [],
      rounds: [],
      non200: 0,
    }));
    for (let round = first; round < last; round++) {
      for (let k = 0; k < lanes.length; k++) {
        const i = (k + round) % lanes.length;
        const lane = lanes[i]!;
        const s = await lane.child.ask<Sample>({ sample: n, variant: lane.variant });
        const row = rows[i]!;
        row.cpuUs.push(s.cpuUs);
        row.wallUs.push(s.wallUs);
        row.rounds.push(round);
        row.non200 += s.bad;
      }
    }
    for (const child of children) {
      closed = true;
      const { notes } = await child.ask<{ notes: (string | null)[] }>({ close: true });
      notes.forEach((note, variant) => {
        const i = lanes.findIndex((l) => l.child === child && l.variant === variant);
        if (note && rows[i]) rows[i].note = note;
      });
    }
    return { framework, requestsPerSample: n, inFlight: plan.inFlight, variants: rows };
  } finally {
    // After `close` a child exits by itself (and writes its profile, if asked for one); after a
    // failure the others are stopped at once.
    const grace = closed ? 5000 : 0;
    await Promise.all(children.map((child) => child.stop(grace)));
  }
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
 * In-process HTTP overhead: per framework, child processes start the variants (one each, or all
 * in one) and drive them without sockets in interleaved rounds. A framework whose child fails
 * is skipped with the reason.
 */
export async function runInject(options: {
  mode: Mode;
  log: (line: string) => void;
  frameworks?: readonly string[];
  rounds?: number;
  generations?: number;
  metric?: InjectMetric;
  layout?: InjectLayout;
}): Promise<InjectResult> {
  const plan = injectPlan(options.mode, options.rounds, options.generations);
  const metric = options.metric ?? 'cpu';
  const layout = options.layout ?? 'process-per-variant';
  const frameworks: InjectFramework[] = [];
  for (const framework of options.frameworks ?? INJECT_FRAMEWORKS) {
    options.log(`in-process ${framework}: ${plan.rounds} rounds`);
    try {
      frameworks.push(summarizeInject(await runFramework(framework, plan, layout), metric));
    } catch (error) {
      frameworks.push({ framework, skipped: (error as Error).message, rows: [] });
    }
  }
  return { metric, layout, plan, frameworks };
}
