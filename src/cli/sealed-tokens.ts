/**
 * A store the CLI cannot open is a configuration error, found before anything is sent: the
 * daemons seal their tokens (`encryptionKey`) and the CLI was given no key or another one. Without
 * this check a sweep or `revoke --id` would send nothing for those tokens and report a revocation
 * that gave up, and `issue` would not see the fleet's token and issue one that kills it at LS.
 */
import { ErrorCodes, LsTokenError, isLsTokenError } from '../core/errors.js';
import { shortId } from '../core/fingerprint.js';
import type { TokenStore } from '../store/token-store.js';

/**
 * Opens the raw token of every record in `ids` (or of every live `active`/`revoking` record of
 * `appKeyId`), and throws one `ERR_DECRYPT` (exit 2) naming the tokens it cannot open and where
 * the key goes. Reads only; changes nothing.
 * @throws LsTokenError `ERR_DECRYPT` (field `encryption-key`); store errors as they come.
 */
export async function assertTokensOpen(store: TokenStore, scope: { appKeyId: string; now: number } | { ids: readonly string[] }): Promise<void> {
  const ids =
    'ids' in scope
      ? scope.ids
      : (await store.list({ appKeyId: scope.appKeyId, states: ['active', 'revoking'] })).filter((r) => r.expiresAt > scope.now).map((r) => r.id);
  const shut: string[] = [];
  let first: LsTokenError | undefined;
  for (const id of ids) {
    try {
      await store.getToken(id);
    } catch (err) {
      if (!isLsTokenError(err, ErrorCodes.DECRYPT)) throw err;
      shut.push(shortId(id));
      first ??= err;
    }
  }
  if (first === undefined) return;
  const fix = !store.encrypted
    ? "no encryption key was given: set your daemons' encryptionKey in LS_TOKEN_ENCRYPTION_KEY or --encryption-key-file"
    : first.field === 'token.alg'
      ? 'they are stored in plain text: your daemons run without an encryptionKey, so run this without one too'
      : "the encryption key given does not open them: give your daemons' encryptionKey (LS_TOKEN_ENCRYPTION_KEY or --encryption-key-file)";
  throw new LsTokenError(
    ErrorCodes.DECRYPT,
    `cannot open ${shut.length} stored token${shut.length === 1 ? '' : 's'} of this app key (${shut.join(', ')}): ${fix}. Nothing was sent and no record changed`,
    { field: 'encryption-key' },
  );
}
