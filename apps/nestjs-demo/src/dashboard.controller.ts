import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Controller,
  Get,
  type OnModuleDestroy,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { Dashboard, originOf, sendReply, sendStream } from '@sluice/demo-dashboard';
import { InjectLimiter, type Semaphore } from '@sluice/nestjs';

/**
 * Watching the limiters, as every demo serves it (one source: apps/dashboard):
 * `GET /dashboard`, `GET /stats/stream` (server-sent events), `GET /metrics` (Prometheus) and
 * `POST /dashboard/burst` (the page's burst button). Nest's shutdown hooks end the streams.
 */
@Controller()
export class DashboardController implements OnModuleDestroy {
  private readonly dashboard: Dashboard;

  constructor(@InjectLimiter('work') work: Semaphore) {
    this.dashboard = new Dashboard({ limiters: { work } });
  }

  @Get('metrics')
  async metrics(@Res() res: ServerResponse) {
    sendReply(res, await this.dashboard.metrics());
  }

  @Get('stats/stream')
  stream(@Res() res: ServerResponse) {
    sendStream(res, this.dashboard.stream());
  }

  @Get(['dashboard', 'dashboard/:file'])
  page(@Param('file') file: string | undefined, @Res() res: ServerResponse) {
    sendReply(res, this.dashboard.page(file));
  }

  @Post('dashboard/burst')
  async burst(
    @Req() req: IncomingMessage,
    @Query() query: Record<string, unknown>,
    @Res() res: ServerResponse,
  ) {
    sendReply(res, await this.dashboard.burst(originOf(req), query));
  }

  onModuleDestroy(): void {
    this.dashboard.close();
  }
}
