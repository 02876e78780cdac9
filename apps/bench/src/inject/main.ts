import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mode } from '../args.js';
import { type Environment, environment, versionOf } from '../env.js';
import { runHttp } from '../http/driver.js';
import type { HttpResult } from '../http/types.js';
import { httpMarkdown, type Target, targetsMarkdown } from '../report.js';
import {
  INJECT_FRAMEWORKS,
  type InjectLayout,
  type InjectMetric,
  type InjectResult,
  runInject,
} from './driver.js';
import { injectMarkdown, injectTargets } from './report.js';

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface HttpArgs {
  mode: Mode;
  /** Frameworks of the in-process part (and of the socket part where it has them); empty: all. */
  only: string[];
  sockets: boolean;
  rounds: number | undefined;
  generations: number | undefined;
  metric: InjectMetric;
  layout: InjectLayout;
  out: string | undefined;
  render: string | undefined;
  help: boolean;
}

export const HTTP_USAGE = `Usage: pnpm bench:http [options]

  --quick             5 rounds of short samples, short socket runs (about a minute)
  --smoke             tiny samples, 2 rounds (for the smoke test)
  --only <list>       frameworks: ${INJECT_FRAMEWORKS.join(', ')}
  --rounds <n>        interleaved in-process rounds (default 12 full, 5 quick)
  --generations <n>   fresh sets of processes the rounds are split over (default 4 full,
                      1 quick)
  --wall              figures and targets from wall-clock time (default: process CPU time)
  --shared-process    start a framework's variants in one process (default: one process
                      each, rounds alternating between them)
  --no-sockets        skip the socket-level autocannon table
  --out <file>        JSON output (default apps/bench/results/http-latest.json)
  --render <file>     print the markdown of an earlier JSON result; runs nothing
`;

export function parseHttpArgs(argv: readonly string[]): HttpArgs {
  const args: HttpArgs = {
    mode: 'full',
    only: [],
    sockets: true,
    rounds: undefined,
    generations: undefined,
    metric: 'cpu',
    layout: 'process-per-variant',
    out: undefined,
    render: undefined,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? arg.split('=', 2) : [arg, undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--':
        break;
      case '--quick':
        args.mode = 'quick';
        break;
      case '--smoke':
        args.mode = 'smoke';
        break;
      case '--only':
        for (const name of take()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)) {
          if (!(INJECT_FRAMEWORKS as readonly string[]).includes(name)) {
            throw new Error(`--only takes ${INJECT_FRAMEWORKS.join(', ')}; got ${name}`);
          }
          args.only.push(name);
        }
        break;
      case '--rounds':
      case '--generations': {
        const raw = take();
        const count = Number(raw);
        if (!Number.isInteger(count) || count < 1) {
          throw new Error(`${flag} must be a positive integer, got ${raw}`);
        }
        if (flag === '--rounds') args.rounds = count;
        else args.generations = count;
        break;
      }
      case '--wall':
        args.metric = 'wall';
        break;
      case '--shared-process':
        args.layout = 'shared-process';
        break;
      case '--no-sockets':
        args.sockets = false;
        break;
      case '--out':
        args.out = take();
        break;
      case '--render':
        args.render = take();
        break;
      case '--help':
      case '-h':
        args.help = true;
        break;
      default:
        throw new Error(`unknown option ${arg}\n\n${HTTP_USAGE}`);
    }
  }
  return args;
}

export interface HttpReport {
  schema: 1;
  kind: 'http';
  date: string;
  mode: Mode;
  durationSeconds: number;
  environment: Environment & { loadAverageAtEnd: number };
  versions: Record<string, string>;
  inProcess: InjectResult;
  sockets?: HttpResult;
  targets: Target[];
}

/** Which socket-table frameworks go with the in-process ones asked for. */
function socketFrameworks(only: readonly string[]): string[] | undefined {
  if (only.length === 0) return undefined;
  const names = new Set<string>();
  for (const f of only) names.add(f.startsWith('nestjs') ? 'nestjs' : f);
  return [...names];
}

export async function runHttpBench(
  args: HttpArgs,
  log: (line: string) => void = () => {},
): Promise<HttpReport> {
  const started = performance.now();
  const env = environment();
  const versions: Record<string, string> = {};
  for (const name of [
    '@sluice/core',
    'express',
    'express-rate-limit',
    'light-my-request',
    'hono',
    'hono-rate-limiter',
    '@nestjs/core',
    '@nestjs/platform-express',
    '@nestjs/platform-fastify',
    'fastify',
    '@nestjs/throttler',
    'autocannon',
  ]) {
    versions[name] = versionOf(name);
  }
  const inProcess = await runInject({
    mode: args.mode,
    log,
    ...(args.only.length > 0 ? { frameworks: args.only } : {}),
    ...(args.rounds !== undefined ? { rounds: args.rounds } : {}),
    ...(args.generations !== undefined ? { generations: args.generations } : {}),
    metric: args.metric,
    layout: args.layout,
  });
  const report: HttpReport = {
    schema: 1,
    kind: 'http',
    date: new Date().toISOString(),
    mode: args.mode,
    durationSeconds: 0,
    environment: { ...env, loadAverageAtEnd: 0 },
    versions,
    inProcess,
    targets: injectTargets(inProcess),
  };
  if (args.sockets) {
    // Shorter than `pnpm bench --http`'s 5 × 5 s: the in-process table is the precise one.
    const frameworks = socketFrameworks(args.only);
    report.sockets = await runHttp({
      mode: args.mode,
      log,
      ...(frameworks ? { frameworks } : {}),
      ...(args.mode === 'full' ? { plan: { durationSeconds: 3, warmupSeconds: 1, reps: 3 } } : {}),
    });
  }
  report.environment.loadAverageAtEnd = environment().loadAverage;
  report.durationSeconds = Math.round((performance.now() - started) / 100) / 10;
  return report;
}

export function httpReportMarkdown(report: HttpReport): string {
  const env = report.environment;
  const out = [
    `Node ${env.node} (V8 ${env.v8}), ${env.cpu} × ${env.cores}, ${env.platform}; ` +
      `mode ${report.mode}, load average ${env.loadAverage} → ${env.loadAverageAtEnd}; ${report.date}`,
    '',
    `Versions: ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    ...injectMarkdown(report.inProcess),
    '',
  ];
  if (report.sockets) out.push(...httpMarkdown(report.sockets), '');
  out.push(...targetsMarkdown(report.targets));
  if (report.mode !== 'full') {
    out.push('', `_${report.mode} run: short samples, indicative only._`);
  }
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  let args: HttpArgs;
  try {
    args = parseHttpArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(HTTP_USAGE);
    return;
  }
  if (args.render) {
    const saved = JSON.parse(readFileSync(args.render, 'utf8')) as HttpReport;
    process.stdout.write(httpReportMarkdown(saved));
    return;
  }
  const report = await runHttpBench(args, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(httpReportMarkdown(report));
  const path = resolve(args.out ?? resolve(appRoot, 'results/http-latest.json'));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`\nwrote ${path} in ${report.durationSeconds} s\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
