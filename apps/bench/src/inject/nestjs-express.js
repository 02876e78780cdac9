// @ts-check
// Nest on its Express platform, driven by light-my-request against the Express instance.
import { ExpressAdapter } from '@nestjs/platform-express';
import inject from 'light-my-request';
import { nestVariants } from './nestjs-common.js';

const options = { method: 'GET', url: '/', remoteAddress: '127.0.0.1' };

export const variants = nestVariants({
  adapter: () => new ExpressAdapter(),
  request: async (instance) => (await inject(instance, options)).statusCode,
});
