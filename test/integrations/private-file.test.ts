/**
 * `ensurePrivateFile`: a new file is 0600 whatever the umask; an existing one is never changed,
 * and reported when group or others can read it.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ErrorCodes } from '../../src/core/errors.js';
import { ensurePrivateFile, formatMode, isOpenToOthers } from '../../src/integrations/private-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-token-private-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ensurePrivateFile', () => {
  it('creates a missing file with mode 0600 even under umask 000', async () => {
    const old = process.umask(0o000);
    try {
      const path = join(dir, 'tokens.sqlite');
      const r = await ensurePrivateFile(path);
      expect(r).toEqual({ path, created: true, mode: 0o600, openToOthers: false, warning: undefined });
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(path).size).toBe(0);
    } finally {
      process.umask(old);
    }
  });

  it('leaves an existing file as it is and warns when group or others can open it', async () => {
    const path = join(dir, 'shared.sqlite');
    writeFileSync(path, 'data');
    chmodSync(path, 0o644);
    const r = await ensurePrivateFile(path);
    expect(r).toMatchObject({ created: false, mode: 0o644, openToOthers: true });
    expect(r.warning).toBe(`${path} holds tokens and is open to group or others (mode 0644): chmod 600 ${path}`);
    expect(statSync(path).mode & 0o777).toBe(0o644);

    chmodSync(path, 0o600);
    expect(await ensurePrivateFile(path)).toMatchObject({ created: false, mode: 0o600, openToOthers: false, warning: undefined });
  });

  it('never creates through a symlink planted at the path: reports the file it points to', async () => {
    const target = join(dir, 'target');
    writeFileSync(target, '');
    chmodSync(target, 0o640);
    const link = join(dir, 'link.sqlite');
    symlinkSync(target, link);
    const r = await ensurePrivateFile(link);
    expect(r).toMatchObject({ created: false, mode: 0o640, openToOthers: true }); // reported, not adopted silently
  });

  it('names the path and the system code when it cannot create the file', async () => {
    const path = join(dir, 'missing-dir', 'tokens.sqlite');
    await expect(ensurePrivateFile(path)).rejects.toMatchObject({ code: ErrorCodes.STORE, message: `cannot create ${path}: ENOENT` });
    await expect(ensurePrivateFile(dir)).rejects.toMatchObject({ code: ErrorCodes.STORE, message: `${dir} is not a regular file` });
  });

  it('formats and classifies modes', () => {
    expect([isOpenToOthers(0o600), isOpenToOthers(0o640), isOpenToOthers(0o604), isOpenToOthers(0o100600)]).toEqual([false, true, true, false]);
    expect([formatMode(0o100644), formatMode(0o600), formatMode(0o7)]).toEqual(['0644', '0600', '0007']);
  });
});
