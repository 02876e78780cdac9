import { TokenBucket } from 'limiter';
import { type Library, timed } from './library.js';

const self = { name: 'limiter', role: 'peer' } as const;

// limiter's TokenBucket starts EMPTY and drips from the clock; tryRemoveTokens(1) is its
// synchronous take. For "admit" it refills 1e9/s so it never refuses after the first instant;
// "refuse" is one token a minute, already spent (like @sluice/core's row).
export const limiterLib: Library = {
  ...self,
  packageName: 'limiter',

  tryTake: (mode) =>
    timed(self, 'TokenBucket tryRemoveTokens(1)', async (n) => {
      const bucket =
        mode === 'admit'
          ? new TokenBucket({ bucketSize: 1e9, tokensPerInterval: 1e9, interval: 'second' })
          : new TokenBucket({ bucketSize: 1, tokensPerInterval: 1, interval: 'minute' });
      // Let the admitting bucket drip in its first tokens (it starts empty).
      if (mode === 'admit') await new Promise((resolve) => setTimeout(resolve, 5));
      let ok = 0;
      return {
        run() {
          for (let i = 0; i < n; i++) if (bucket.tryRemoveTokens(1)) ok++;
        },
        verify: () => (ok === (mode === 'admit' ? n : 0) ? undefined : `ok ${ok}/${n}`),
      };
    }),
};
