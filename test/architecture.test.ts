/**
 * The layer rules of src/ (`.dependency-cruiser.cjs`, docs/architecture.md "Layers") hold on the
 * real tree, and `npm run lint:arch` fails when a scratch file breaks one of them: an import from a
 * higher layer, an import circle, an import of test code. The broken imports are written into a
 * temporary copy of the repository, never into src/ itself.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIMEOUT_MS = 120_000;

interface Lint {
  code: number;
  out: string;
}

function lintArch(cwd: string): Promise<Lint> {
  return new Promise((done) => {
    execFile('npm', ['run', '--silent', 'lint:arch'], { cwd, timeout: TIMEOUT_MS - 5_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      done({ code, out: `${stdout}${stderr}` });
    });
  });
}

describe('layer rules (npm run lint:arch)', () => {
  let copy: string;

  beforeAll(async () => {
    copy = await mkdtemp(join(tmpdir(), 'ls-token-arch-'));
    await cp(join(ROOT, 'src'), join(copy, 'src'), { recursive: true });
    for (const f of ['package.json', 'tsconfig.json', '.dependency-cruiser.cjs']) await cp(join(ROOT, f), join(copy, f));
    await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    await mkdir(join(copy, 'test'));
    await writeFile(join(copy, 'test', 'scratch-helper.ts'), 'export const helper = 1;\n');
  });

  afterAll(async () => {
    await rm(copy, { recursive: true, force: true });
  });

  it(
    'pass on the real tree',
    async () => {
      const r = await lintArch(ROOT);
      expect(r).toEqual({ code: 0, out: expect.stringContaining('no dependency violations found') });
    },
    TIMEOUT_MS,
  );

  const broken: Array<[what: string, files: Record<string, string>, rule: string, culprit: string]> = [
    [
      'a type import from a higher layer (core -> lifecycle)',
      { 'src/core/scratch.ts': "import type { TokenLifecycle } from '../lifecycle/token-lifecycle.js';\nexport type Scratch = TokenLifecycle;\n" },
      'layer-core',
      'src/core/scratch.ts → src/lifecycle/token-lifecycle.ts',
    ],
    [
      'a provider importing the store',
      { 'src/providers/scratch.ts': "import { TokenStore } from '../store/token-store.js';\nexport const scratch = TokenStore;\n" },
      'layer-providers',
      'src/providers/scratch.ts → src/store/token-store.ts',
    ],
    [
      'an import circle inside one layer',
      {
        'src/store/scratch-a.ts': "import { b } from './scratch-b.js';\nexport const a = (): number => b() + 1;\n",
        'src/store/scratch-b.ts': "import { a } from './scratch-a.js';\nexport const b = (): number => a() - 1;\n",
      },
      'no-circular',
      'src/store/scratch-a.ts',
    ],
    [
      'src importing test code',
      { 'src/testing/scratch.ts': "import { helper } from '../../test/scratch-helper.js';\nexport const scratch = helper;\n" },
      'no-test-or-bench-from-src',
      'src/testing/scratch.ts → test/scratch-helper.ts',
    ],
  ];

  // One run with every scratch file (each check ~15 s on a loaded machine); each must be named.
  it(
    'fail on each deliberately wrong import, naming its rule and its file',
    async () => {
      const files = broken.flatMap(([, f]) => Object.entries(f));
      for (const [file, text] of files) await writeFile(join(copy, file), text);
      const r = await lintArch(copy);
      expect(r.code).not.toBe(0);
      for (const [what, , rule, culprit] of broken) {
        const line = r.out.split('\n').find((l) => l.includes(`error ${rule}:`) && l.includes(culprit));
        expect({ what, found: line !== undefined }).toEqual({ what, found: true });
      }
      // and nothing else: the real files stay clean
      expect(r.out).toContain(`${broken.length} dependency violations`);
    },
    TIMEOUT_MS,
  );
});
