import { Controller, Get } from '@nestjs/common';
import { InjectLimiter, type Semaphore } from '@sluice/nestjs';

/** `GET /stats`: the very Semaphore the guard admits /work through, by @InjectLimiter. */
@Controller('stats')
export class StatsController {
  constructor(@InjectLimiter('work') private readonly work: Semaphore) {}

  @Get()
  stats() {
    return { work: this.work.stats() };
  }
}
