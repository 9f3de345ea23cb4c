/** Awaiting a rejection in tests. */
import { expect } from '@jest/globals';
import { LsTokenError } from '../../src/core/errors.js';

/** Resolves with the LsTokenError `p` rejects with; fails the test if it resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<LsTokenError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LsTokenError);
    return err as LsTokenError;
  }
  throw new Error('expected a rejection');
}
