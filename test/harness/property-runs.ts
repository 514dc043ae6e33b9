import fc from 'fast-check';

/**
 * Property runs are reproducible: a fixed seed unless `FC_SEED` names one,
 * and fast-check prints the seed and the shrunk counterexample on failure.
 * `FC_RUNS` raises the number of runs for a longer local hunt.
 */
export function propertyRuns(defaultRuns: number): fc.Parameters<unknown> {
  return {
    seed: Number(process.env.FC_SEED ?? 20261123),
    numRuns: Number(process.env.FC_RUNS ?? defaultRuns),
  };
}
