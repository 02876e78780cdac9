// What limiter events cost: the same loops run on the core of a baseline commit (built without
// events) and on the working tree's core, with no subscriber and with one. Both cores are
// bundled here by the same esbuild call from their sources, so only the source differs.
//
//   node --expose-gc --import tsx src/events.ts [--baseline <git ref>] [--reps 11] [--quick]
//
// Runs are interleaved: every repetition runs each variant once, in a rotating order, with a
// GC before each timed run. The clock is the process's CPU time (user + system), which leaves
// out the time a loaded machine keeps the process waiting. Figures are medians; "paired"
// ratios divide the two runs of the same repetition, which cancels slow drifts.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gc, median } from './harness.js';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string', default: 'e2f269e' },
    reps: { type: 'string', default: '11' },
    quick: { type: 'boolean', default: false },
  },
});

const root = resolve(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'sluice-events-bench-'));

function bundle(entry: string, out: string): string {
  execFileSync(
    join(root, 'node_modules/.bin/esbuild'),
    [
      entry,
      '--bundle',
      '--format=esm',
      '--platform=neutral',
      '--target=es2022',
      `--outfile=${out}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return out;
}

// The baseline's sources, as committed at the ref.
const baseDir = join(work, 'base');
execFileSync('mkdir', ['-p', baseDir]);
execFileSync('sh', [
  '-c',
  `git -C "${root}" archive "${values.baseline}" packages/core/src | tar -x -C "${baseDir}"`,
]);
const baseFile = bundle(join(baseDir, 'packages/core/src/index.ts'), join(work, 'base.mjs'));
const headFile = bundle(join(root, 'packages/core/src/index.ts'), join(work, 'head.mjs'));

interface Core {
  Semaphore: new (
    capacity: number,
  ) => {
    acquire(): Promise<{ release(): void }>;
    subscribe?(listener: (event: unknown) => void): () => void;
  };
  TokenBucket: new (options: {
    capacity: number;
    refillPerSecond: number;
  }) => { tryTake(): { ok: boolean }; subscribe?(listener: (event: unknown) => void): () => void };
}

// Each variant loads its own instance of its core (a query string makes a separate module), so
// the subscribed run's type feedback never reaches the code the unsubscribed run executes.
const load = async (file: string, instance: string) =>
  (await import(`${pathToFileURL(file).href}?${instance}`)) as Core;
const base = await load(baseFile, 'base');
const head = await load(headFile, 'none');
const headSubscribed = await load(headFile, 'one');
rmSync(work, { recursive: true, force: true });

let sink: unknown;
const listener = (event: unknown): void => {
  sink = event;
};

// Each variant gets its own copy of the loop (a distinct source text defeats V8's compilation
// cache), so no call site turns polymorphic by seeing both cores.
type Loop = (core: Core, n: number, subscribe: boolean) => Promise<void>;
function loop(tag: string, body: string): Loop {
  return new Function('core', 'n', 'subscribe', 'listener', `/* ${tag} */ ${body}`) as Loop;
}

const BODIES = {
  uncontended: `return (async () => {
    const sem = new core.Semaphore(1);
    if (subscribe) sem.subscribe(listener);
    for (let i = 0; i < n; i++) { const p = await sem.acquire(); p.release(); }
  })();`,
  handoff: `return (async () => {
    const sem = new core.Semaphore(1);
    if (subscribe) sem.subscribe(listener);
    const task = async () => { const p = await sem.acquire(); p.release(); };
    const tasks = new Array(n);
    for (let i = 0; i < n; i++) tasks[i] = task();
    await Promise.all(tasks);
  })();`,
  tryTake: `return (async () => {
    const bucket = new core.TokenBucket({ capacity: 1e9, refillPerSecond: 1e12 });
    if (subscribe) bucket.subscribe(listener);
    let ok = 0;
    for (let i = 0; i < n; i++) if (bucket.tryTake().ok) ok++;
    if (ok !== n) throw new Error('bucket refused');
  })();`,
} as const;

const quick = values.quick;
const reps = Number(values.reps);
const CASES = [
  {
    id: 'uncontended',
    title: 'Uncontended acquire + release, limit 1',
    n: quick ? 200_000 : 1_000_000,
    eventsPerOp: 2,
  },
  {
    id: 'handoff',
    title: 'Contended hand-off, limit 1, all tasks at once',
    n: quick ? 20_000 : 100_000,
    eventsPerOp: 3,
  },
  {
    id: 'tryTake',
    title: 'TokenBucket tryTake (admits)',
    n: quick ? 200_000 : 1_000_000,
    eventsPerOp: 1,
  },
] as const;

const VARIANTS = [
  {
    id: 'baseline',
    label: `baseline (${values.baseline}, no events)`,
    core: base,
    subscribe: false,
  },
  { id: 'none', label: 'events, 0 subscribers', core: head, subscribe: false },
  { id: 'one', label: 'events, 1 subscriber', core: headSubscribed, subscribe: true },
] as const;

const lines: string[] = [];
const print = (line = ''): void => {
  lines.push(line);
};

print(
  `Node ${process.version}, ${reps} interleaved repetitions${quick ? ' (quick sizes)' : ''}, load average ${(
    await import('node:os')
  )
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
print();
print(
  '| case | n | baseline CPU ms | 0 subscribers CPU ms | ratio (paired median, min–max) | ratio of fastest runs | 1 subscriber CPU ms | added per event |',
);
print('|---|---|---|---|---|---|---|---|');

for (const c of CASES) {
  const loops = VARIANTS.map((v) => loop(`${c.id}-${v.id}`, BODIES[c.id]));
  const samples: number[][] = VARIANTS.map(() => []);
  // Warm-up at a tenth of the size.
  for (let v = 0; v < VARIANTS.length; v++) {
    const variant = VARIANTS[v]!;
    await (loops[v] as unknown as (...a: unknown[]) => Promise<void>)(
      variant.core,
      Math.ceil(c.n / 10),
      variant.subscribe,
      listener,
    );
  }
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = (r + k) % VARIANTS.length;
      const variant = VARIANTS[v]!;
      gc();
      // CPU time of this process (user + system), not wall time: on a loaded machine the
      // time spent waiting for a core is not the code's.
      const start = process.cpuUsage();
      await (loops[v] as unknown as (...a: unknown[]) => Promise<void>)(
        variant.core,
        c.n,
        variant.subscribe,
        listener,
      );
      const used = process.cpuUsage(start);
      samples[v]!.push((used.user + used.system) / 1000);
    }
    process.stderr.write('.');
  }
  const [b, z, o] = samples.map((s) => median(s)!) as [number, number, number];
  const [bMin, zMin] = samples.map((s) => Math.min(...s)) as [number, number];
  const paired = samples[1]!.map((ms, i) => ms / samples[0]![i]!);
  const ratio = median(paired)!;
  const perEventNs = ((o - z) * 1e6) / (c.n * c.eventsPerOp);
  print(
    `| ${c.title} | ${c.n.toLocaleString('en-US')} | ${b.toFixed(1)} | ${z.toFixed(1)} | ${ratio.toFixed(3)} (${Math.min(...paired).toFixed(2)}–${Math.max(...paired).toFixed(2)}) | ${(zMin / bMin).toFixed(3)} | ${o.toFixed(1)} | ${perEventNs.toFixed(0)} ns (${c.eventsPerOp} events/op) |`,
  );
}
// Heap per queued waiter, no subscriber: the same GC-bracketed reading as the main bench's
// scenario 5 (promises kept in a preallocated array, not counted).
async function heapPerWaiter(core: Core, n: number): Promise<number> {
  const sink = new Array<unknown>(n).fill(undefined);
  const sem = new core.Semaphore(1);
  const held = await sem.acquire();
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) sink[i] = sem.acquire();
  gc();
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / n;
  held.release();
  return bytes;
}
const heapN = quick ? 20_000 : 100_000;
const heap = { base: [] as number[], none: [] as number[] };
for (let r = 0; r < Math.min(reps, 5); r++) {
  heap.base.push(await heapPerWaiter(base, heapN));
  heap.none.push(await heapPerWaiter(head, heapN));
}
print();
print(
  `Heap per queued waiter (n = ${heapN.toLocaleString('en-US')}, 0 subscribers): baseline ${median(heap.base)!.toFixed(1)} B, events ${median(heap.none)!.toFixed(1)} B.`,
);
process.stderr.write('\n');
console.log(lines.join('\n'));
void sink;
