/**
 * The exit codes of `ls-token`, with the words `--help` prints for them: one table, so the help
 * and the code cannot disagree.
 */

/** Exit codes of `ls-token`. */
export const ExitCodes = {
  /** Everything asked for was done. */
  OK: 0,
  /** It failed or partly failed: LS or the store failed, or a token is still alive after `revoke`/`sweep`. */
  FAILED: 1,
  /** Usage, configuration or input error; nothing was sent to LS. */
  USAGE: 2,
} as const;

/** One of {@link ExitCodes}. */
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

/** `[code, meaning]` rows for the help text. */
export const EXIT_CODE_HELP: readonly (readonly [ExitCode, string])[] = [
  [ExitCodes.OK, 'done (revoke/sweep: every token it took on is dead)'],
  [ExitCodes.FAILED, 'failed or partly failed: LS or the store failed, or tokens are still alive (the last line says how many)'],
  [ExitCodes.USAGE, 'usage, configuration or input error (bad flag, missing or unsafe secret, no store, a wrong encryption key, not an LS token): nothing was sent'],
];
