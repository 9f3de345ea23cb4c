/**
 * The property tests of `test/helpers/properties.ts`, run with more inputs than under jest.
 * In the summary, `faults` counts the generated (mostly malformed) inputs and `failed` the
 * properties that found a counterexample.
 */
import { PROPERTIES } from '../../helpers/properties.js';
import { emptyResult, type ScenarioResult } from '../lib.js';

export async function propertyScenario(seed: number, numRuns = 3_000): Promise<ScenarioResult> {
  const res = emptyResult();
  for (const p of PROPERTIES) {
    try {
      res.faults += await p.run({ numRuns: p.name.startsWith('TokenStore round trip') ? Math.ceil(numRuns / 5) : numRuns, seed });
    } catch (err) {
      res.failed++;
      res.problems.push(`${p.name}: ${(err instanceof Error ? err.message : String(err)).split('\n').slice(0, 6).join(' | ')}`);
    }
  }
  res.info.push(`${PROPERTIES.length} properties, ${res.faults.toLocaleString('en-US')} generated inputs, seed ${seed}`);
  return res;
}
