import type { Sizes } from './types.js';

export type Mode = 'full' | 'quick' | 'smoke';

export interface Args {
  mode: Mode;
  /** Scenario numbers, names or case ids; empty: all. `http` selects the HTTP scenario. */
  only: string[];
  /** Run the socket-level HTTP overhead scenario (default off: `pnpm bench:http` has it). */
  http: boolean;
  /** Where the JSON goes, relative to the current directory; default results/latest.json. */
  out: string | undefined;
  reps: number | undefined;
  /** Time runs by process CPU time instead of wall-clock time. */
  cpu: boolean;
  /** Print the markdown of an earlier JSON result and run nothing. */
  render: string | undefined;
  help: boolean;
}

export const USAGE = `Usage: pnpm --filter @sluice/bench bench [options]

  --quick          small sizes, 3 repetitions (under a minute); hides quadratic peers
  --smoke          tiny sizes, 1 repetition (for the smoke test)
  --only <list>    comma-separated scenarios: 1..11, uncontended, handoff, run, cancel,
                   heap, queue, trytake, run-uncontended, burst, jobs, job-heap, http,
                   or a case id such as handoff-limit-10
  --http           include the socket-level HTTP table (pnpm bench:http runs it with the
                   in-process one)
  --no-http        skip it (the default)
  --reps <n>       repetitions per case
  --cpu            time by process CPU time, not wall-clock (steadier on a shared machine)
  --out <file>     JSON output (default apps/bench/results/latest.json)
  --render <file>  print the markdown of an earlier JSON result; runs nothing
`;

export function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    mode: 'full',
    only: [],
    http: false,
    out: undefined,
    reps: undefined,
    cpu: false,
    render: undefined,
    help: false,
  };
  let http: boolean | undefined;
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? arg.split('=', 2) : [arg, undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      i++;
      return value(i - 1, flag!);
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
        args.only.push(
          ...take()
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        );
        break;
      case '--http':
        http = true;
        break;
      case '--no-http':
        http = false;
        break;
      case '--cpu':
        args.cpu = true;
        break;
      case '--out':
        args.out = take();
        break;
      case '--render':
        args.render = take();
        break;
      case '--reps': {
        const raw = take();
        const reps = Number(raw);
        if (!Number.isInteger(reps) || reps < 1) {
          throw new Error(`--reps must be a positive integer, got ${raw}`);
        }
        args.reps = reps;
        break;
      }
      case '--help':
      case '-h':
        args.help = true;
        break;
      default:
        throw new Error(`unknown option ${arg}\n\n${USAGE}`);
    }
  }
  const onlyHttp = args.only.some((s) => s.toLowerCase() === 'http');
  // The HTTP tables have their own command (`pnpm bench:http`); here only on request.
  args.http = http ?? onlyHttp;
  return args;
}

/** The sizes for a full run; quick and smoke shrink them (and hide quadratic peers). */
export function sizesFor(mode: Mode, reps?: number): Sizes {
  const sizes: Record<Mode, Sizes> = {
    full: {
      reps: 7,
      uncontended: 1_000_000,
      handoff: 100_000,
      run: 100_000,
      runUncontended: 1_000_000,
      burst: 1_000_000,
      cancel: [50_000, 100_000],
      waiters: 100_000,
      queue: 200_000,
      tryTake: 1_000_000,
      jobs: 100_000,
      pendingJobs: 100_000,
    },
    quick: {
      reps: 3,
      uncontended: 200_000,
      handoff: 20_000,
      run: 20_000,
      runUncontended: 200_000,
      burst: 200_000,
      cancel: [5_000, 10_000],
      waiters: 20_000,
      queue: 20_000,
      tryTake: 200_000,
      jobs: 20_000,
      pendingJobs: 20_000,
    },
    smoke: {
      reps: 1,
      uncontended: 2_000,
      handoff: 500,
      run: 500,
      runUncontended: 2_000,
      burst: 2_000,
      cancel: [200, 400],
      waiters: 500,
      queue: 500,
      tryTake: 2_000,
      jobs: 500,
      pendingJobs: 500,
    },
  };
  const chosen = sizes[mode];
  return reps === undefined ? chosen : { ...chosen, reps };
}

/** `--name <number>` from a small bench script's argv, or `fallback` when absent. */
export function numberFlag(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}
