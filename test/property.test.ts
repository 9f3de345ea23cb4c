/**
 * Property tests (fast-check) of every input boundary: LS response parsing, option validation and
 * the stored-record codec: every input gives a valid result or a typed LsTokenError, never an
 * unhandled exception. The properties live in `helpers/properties.ts`, shared with the chaos
 * suite (`npm run test:chaos`), which runs them again with more inputs.
 */
import { describe, it } from '@jest/globals';
import { PROPERTIES } from './helpers/properties.js';

describe('property tests', () => {
  for (const p of PROPERTIES) {
    it(p.name, async () => {
      await p.run({ numRuns: 300 });
    });
  }
});
