// @ts-check
// Nest on its Fastify platform, driven by fastify.inject (light-my-request inside Fastify).
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { nestVariants } from './nestjs-common.js';

const options = { method: 'GET', url: '/', remoteAddress: '127.0.0.1' };

export const variants = nestVariants({
  adapter: () => new FastifyAdapter(),
  request: async (instance) => (await instance.inject(options)).statusCode,
});
