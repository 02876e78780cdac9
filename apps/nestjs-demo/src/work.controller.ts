import { Controller, Get, Query, Req } from '@nestjs/common';
import { Concurrency, type SluiceRequestInfo } from '@sluice/nestjs';

/** Longest simulated work a request may ask for. */
const MAX_WORK_MS = 10_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** `GET /work?ms=N`: N ms of simulated work (default 100) under the "work" limiter. */
@Controller('work')
export class WorkController {
  @Get()
  @Concurrency('work')
  async work(@Query('ms') ms: string | undefined, @Req() req: { sluice: SluiceRequestInfo }) {
    const asked = Number(ms ?? 100);
    const duration = Number.isFinite(asked) ? Math.min(Math.max(0, asked), MAX_WORK_MS) : 100;
    const { signal, waitedMs } = req.sluice;
    await sleep(duration, signal); // a client that leaves stops the work early
    return { ms: duration, waitedMs: Math.round(waitedMs) };
  }
}
