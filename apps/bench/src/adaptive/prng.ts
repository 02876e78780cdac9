// A seeded generator (mulberry32) and the two distributions the simulation draws from.

export type Random = () => number;

/** Uniform in [0, 1), the same sequence for the same seed. */
export function seeded(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exponential with the given mean: the gap between two Poisson arrivals. */
export function exponential(random: Random, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

/** Log-normal with median 1 (Box–Muller): multiplicative noise on a service time. */
export function logNormal(random: Random, sigma: number): number {
  const u = 1 - random();
  const v = random();
  return Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
}
