import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { Mode } from '../args.js';
import { median } from '../harness.js';
import type { HttpFrameworkResult, HttpResult, HttpVariantResult } from './types.js';

// 'node' is plain node:http (node-servers.ts): the ceiling the framework rows sit under.
export const FRAMEWORKS = ['node', 'express', 'hono', 'nestjs'] as const;

const here = new URL('./', import.meta.url);
const serveScript = fileURLToPath(new URL('serve.js', here));

/** tsx only for servers written in TypeScript (serve.js explains the plain-JS ones). */
function nodeArgs(framework: string): string[] {
  return existsSync(new URL(`${framework}-servers.js`, here)) ? [] : ['--import', 'tsx'];
}

interface Child {
  process: ChildProcess;
  /** The first JSON line the child printed. */
  first: Promise<Record<string, unknown>>;
  /** The child's CPU time so far (user + system), in microseconds. */
  cpuUs(): Promise<number>;
}

function startChild(framework: string, which: string): Child {
  const child = spawn(process.execPath, [...nodeArgs(framework), serveScript, framework, which], {
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: fileURLToPath(new URL('../../', here)),
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const lines = createInterface({ input: child.stdout! });
  // After the first line, every line answers one `cpu` request, in order.
  const cpuWaiters: ((us: number) => void)[] = [];
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${framework}/${which}: no answer in 60 s`)),
      60_000,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`${framework}/${which}: unexpected output ${line.slice(0, 200)}`));
      }
      lines.on('line', (next) => {
        const cpuUs = /^\{"cpuUs":(\d+)\}$/.exec(next)?.[1];
        if (cpuUs !== undefined) cpuWaiters.shift()?.(Number(cpuUs));
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${framework}/${which} exited with ${code}: ${stderr.trim().slice(-500)}`));
    });
  });
  first.catch(() => {});
  const cpuUs = () =>
    new Promise<number>((resolve) => {
      cpuWaiters.push(resolve);
      child.stdin?.write('cpu\n');
    });
  return { process: child, first, cpuUs };
}

/**
 * Only the server under load runs: the others are stopped (SIGSTOP), so that what one leaves
 * behind (a peer's expiry timers, a heap being collected) is not charged to the next one.
 */
function pause(child: ChildProcess | undefined, paused: boolean): void {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  pause(child, false);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export interface HttpPlan {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  reps: number;
}

export function httpPlan(mode: Mode): HttpPlan {
  if (mode === 'full') return { connections: 50, durationSeconds: 5, warmupSeconds: 2, reps: 5 };
  if (mode === 'quick') return { connections: 50, durationSeconds: 2, warmupSeconds: 1, reps: 1 };
  return { connections: 10, durationSeconds: 1, warmupSeconds: 0, reps: 1 };
}

async function measureFramework(
  framework: string,
  plan: HttpPlan,
  log: (line: string) => void,
): Promise<HttpFrameworkResult> {
  const exists = (ext: string) => existsSync(new URL(`${framework}-servers.${ext}`, here));
  if (!exists('ts') && !exists('js')) {
    return { framework, skipped: `src/http/${framework}-servers.ts is missing`, variants: [] };
  }
  let names: string[];
  try {
    const listing = await startChild(framework, 'list').first;
    if (typeof listing.error === 'string') throw new Error(listing.error);
    names = listing.variants as string[];
  } catch (error) {
    return { framework, skipped: (error as Error).message, variants: [] };
  }

  const results: HttpVariantResult[] = names.map((name) => ({
    name,
    samples: [],
    non2xx: 0,
    errors: 0,
  }));
  const p99s: number[][] = names.map(() => []);
  const cpus: number[][] = names.map(() => []);
  const children: (Child | undefined)[] = [];
  const ports: (number | undefined)[] = [];
  try {
    // Start every variant first (idle servers cost nothing), then interleave the load runs.
    for (const [i, name] of names.entries()) {
      const child = startChild(framework, name);
      children.push(child);
      try {
        const answer = await child.first;
        if (typeof answer.error === 'string') throw new Error(answer.error);
        ports.push(answer.port as number);
        pause(child.process, true);
      } catch (error) {
        ports.push(undefined);
        results[i]!.note = `did not start: ${(error as Error).message}`;
      }
    }
    const url = (i: number): string => `http://127.0.0.1:${ports[i]}/`;
    // Server CPU per request too: it shows a variant's cost where autocannon, not the server,
    // limits the req/s.
    const load = async (i: number, duration: number) => {
      const child = children[i]!;
      pause(child.process, false);
      try {
        const before = await child.cpuUs();
        const result = await autocannon({ url: url(i), connections: plan.connections, duration });
        const cpuUs = (await child.cpuUs()) - before;
        return { result, cpuUsPerRequest: cpuUs / Math.max(result.requests.total, 1) };
      } finally {
        pause(child.process, true);
      }
    };
    if (plan.warmupSeconds > 0) {
      for (let i = 0; i < names.length; i++) {
        if (ports[i] === undefined) continue;
        await load(i, plan.warmupSeconds);
      }
    }
    for (let rep = 0; rep < plan.reps; rep++) {
      for (let k = 0; k < names.length; k++) {
        const i = (k + rep) % names.length;
        if (ports[i] === undefined) continue;
        log(`http ${framework} / ${names[i]} (rep ${rep + 1}/${plan.reps})`);
        const { result: r, cpuUsPerRequest } = await load(i, plan.durationSeconds);
        const row = results[i]!;
        row.samples.push(Math.round(r.requests.average));
        cpus[i]!.push(cpuUsPerRequest);
        p99s[i]!.push(r.latency.p99);
        row.non2xx += r.non2xx;
        row.errors += r.errors + r.timeouts;
      }
    }
  } finally {
    await Promise.all(children.map((c) => (c ? stopChild(c.process) : undefined)));
  }

  const bare = results.find((r) => r.name === 'bare');
  for (const [i, row] of results.entries()) {
    row.medianRps = median(row.samples);
    row.p99Ms = median(p99s[i]!);
    const cpu = median(cpus[i]!);
    if (cpu !== undefined) row.cpuUsPerRequest = Math.round(cpu * 100) / 100;
    if (row.non2xx > 0 || row.errors > 0) {
      const note = `${row.non2xx} non-2xx, ${row.errors} errors`;
      row.note = row.note ? `${row.note}; ${note}` : note;
    }
  }
  const bareRps = bare?.medianRps;
  const bareCpu = bare?.cpuUsPerRequest;
  for (const row of results) {
    if (bareRps && row.medianRps !== undefined) {
      row.vsBare = Math.round((row.medianRps / bareRps) * 1000) / 1000;
    }
    if (bareCpu && row.cpuUsPerRequest !== undefined) {
      row.cpuVsBare = Math.round((row.cpuUsPerRequest / bareCpu) * 1000) / 1000;
    }
  }
  return { framework, variants: results };
}

/**
 * HTTP overhead: each variant of each framework in its own child process (so the servers
 * share nothing with each other or with the load generator's heap), loaded by autocannon from
 * this process on 127.0.0.1. A missing servers file is skipped with a note.
 */
export async function runHttp(options: {
  mode: Mode;
  log: (line: string) => void;
  frameworks?: readonly string[];
  /** Overrides the mode's plan (bench:http runs shorter socket rounds than `pnpm bench --http`). */
  plan?: Partial<HttpPlan>;
}): Promise<HttpResult> {
  const plan = { ...httpPlan(options.mode), ...options.plan };
  const frameworks: HttpFrameworkResult[] = [];
  for (const framework of options.frameworks ?? FRAMEWORKS) {
    frameworks.push(await measureFramework(framework, plan, options.log));
  }
  return {
    connections: plan.connections,
    durationSeconds: plan.durationSeconds,
    reps: plan.reps,
    frameworks,
  };
}
