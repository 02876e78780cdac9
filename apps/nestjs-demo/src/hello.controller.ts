import { Controller, Get, Ip } from '@nestjs/common';
import { RateLimit } from '@sluice/nestjs';

/** `GET /api/hello`: 5 requests per client in a burst, then 1 per second (see AppModule). */
@Controller('api')
export class HelloController {
  @Get('hello')
  @RateLimit('hello')
  hello(@Ip() client: string) {
    return { hello: 'world', client };
  }
}
