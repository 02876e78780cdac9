import { Controller, Get, Ip } from '@nestjs/common';
import { RateLimit } from '@sluice/nestjs';

/** `GET /api/hello`: 5 requests per client in a burst, then 1 per second. */
@Controller('api')
export class HelloController {
  @Get('hello')
  @RateLimit({ capacity: 5, refillPerSecond: 1 })
  hello(@Ip() client: string) {
    return { hello: 'world', client };
  }
}
