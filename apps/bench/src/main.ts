import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Args, parseArgs, sizesFor, USAGE } from './args.js';
import { environment, versionOf } from './env.js';
import { runCase } from './harness.js';
import { runHttp } from './http/driver.js';
import { allLibraries } from './peers/index.js';
import { markdown, type Report, summarize, targets } from './report.js';
import { buildCases, selectCases } from './scenarios/index.js';

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface RunOptions {
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

/** Runs the selected scenarios and returns the report; writes nothing. */
export async function runBench(args: Args, options: RunOptions = {}): Promise<Report> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const env = environment();
  const sizes = sizesFor(args.mode, args.reps);
  const cases = selectCases(buildCases(sizes), args.only);
  const versions: Record<string, string> = {};
  for (const library of allLibraries) {
    if (library.packageName) versions[library.packageName] = versionOf(library.packageName);
  }

  const results = [];
  for (const c of cases) {
    log(`${c.scenario}. ${c.title} — ${c.variant} (n=${c.n})`);
    const result = await runCase(c, {
      reps: sizes.reps,
      // A quadratic peer may take seconds per run: cap each row's repetitions at ~20 s.
      rowBudgetMs: args.mode === 'full' ? 20_000 : 5_000,
      clock: args.cpu ? 'cpu' : 'wall',
    });
    results.push(summarize(result));
  }

  const report: Report = {
    schema: 1,
    date: new Date().toISOString(),
    mode: args.mode,
    clock: args.cpu ? 'cpu' : 'wall',
    command:
      `node ${process.execArgv.join(' ')} src/main.ts ${process.argv.slice(2).join(' ')}`.trim(),
    durationSeconds: 0,
    environment: { ...env, loadAverageAtEnd: 0 },
    versions,
    sizes,
    cases: results,
    targets: targets(results),
  };
  if (args.http) {
    for (const name of ['express', 'express-rate-limit', 'hono', 'hono-rate-limiter']) {
      versions[name] = versionOf(name);
    }
    versions['@nestjs/core'] = versionOf('@nestjs/core');
    versions['@nestjs/throttler'] = versionOf('@nestjs/throttler');
    versions.autocannon = versionOf('autocannon');
    report.http = await runHttp({ mode: args.mode, log });
  }
  report.environment.loadAverageAtEnd = environment().loadAverage;
  report.durationSeconds = Math.round((performance.now() - started) / 100) / 10;
  return report;
}

export function writeReport(report: Report, file: string): string {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

async function main(): Promise<void> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.render) {
    process.stdout.write(markdown(JSON.parse(readFileSync(args.render, 'utf8')) as Report));
    return;
  }
  const report = await runBench(args, { log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(markdown(report));
  const path = writeReport(report, args.out ?? resolve(appRoot, 'results/latest.json'));
  process.stderr.write(`\nwrote ${path} in ${report.durationSeconds} s\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
