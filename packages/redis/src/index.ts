export { UnavailableError } from '@sluice/core';
export type { RedisKeyedTokenBucketOptions } from './redis-keyed-token-bucket.js';
export { RedisKeyedTokenBucket } from './redis-keyed-token-bucket.js';
export type { RedisClientLike, RedisStoreOptions, WhenUnavailable } from './redis-store.js';
export { RedisStore } from './redis-store.js';
export type { RedisTokenBucketOptions } from './redis-token-bucket.js';
export { RedisTokenBucket } from './redis-token-bucket.js';
