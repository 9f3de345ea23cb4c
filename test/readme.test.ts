/**
 * The README keeps its promises. Every command in its shell blocks runs here and exits 0, or is
 * skipped by name with the reason; a command added to the README without an entry below fails the
 * test. The quick start is `examples/quickstart.ts` verbatim and runs. Links work from the npm
 * tarball (no relative links: `docs/` and `examples/` are not packed) and point at files and
 * sections that exist, in the README and in `docs/`. The options, events and errors tables name
 * every option, event and error code the library has, and `docs/cli.md` every flag of the CLI.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCodes } from '../src/core/errors.js';
import { COMMANDS } from '../src/cli/args.js';
import { EXIT_CODE_HELP } from '../src/cli/exit-codes.js';
import { usageLine } from '../src/cli/help.js';
import { freePort } from './helpers/net-and-random.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const README = read('README.md');
const pkg = JSON.parse(read('package.json')) as { repository: { url: string } };
/** Where links to files that are not packed must point. */
const REPO_BLOB = `${pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '')}/blob/main/`;
const DOC_PAGES = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);

/** The fenced blocks of a markdown text, with their language. */
function fencedBlocks(markdown: string): Array<{ lang: string; body: string }> {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
}

/** Every command of the README's `sh` blocks: one per line, comments left out. */
function readmeCommands(): string[] {
  return fencedBlocks(README)
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => b.body.split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```$/gm, '');
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

/** Every link target of a markdown text: inline `[x](target)` and reference definitions `[x]: target`. */
function links(markdown: string): string[] {
  const text = markdown.replace(/^```[\s\S]*?^```$/gm, '').replace(/`[^`\n]*`/g, '');
  return [...[...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!), ...[...text.matchAll(/^\[[^\]]+\]: (\S+)$/gm)].map((m) => m[1]!)];
}

// --- running commands -------------------------------------------------------------------------

interface Ran {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
}

const running = new Set<ChildProcess>();

/** Runs `command` with `sh -c` in the repository (or `cwd`), in a process group of its own (so Ctrl-C reaches all of it). */
function start(command: string, cwd = ROOT): { proc: ChildProcess; output: () => string; done: Promise<Ran>; waitFor(re: RegExp, ms: number): Promise<void> } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_OPTIONS']; // jest's --experimental-vm-modules is not for the child
  for (const k of ['LS_BASE_URL', 'LS_APPKEY', 'LS_APPSECRETKEY']) delete env[k]; // the examples use their own mock
  // Outside the repository (the new project), nothing of an `npm test` run may steer npm there.
  if (cwd !== ROOT) for (const k of Object.keys(env)) if (/^npm_|^INIT_CWD$/i.test(k)) delete env[k];
  const proc = spawn('sh', ['-c', command], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const done = new Promise<Ran>((res) =>
    proc.on('close', (code, signal) => {
      running.delete(proc);
      res({ code, signal, out });
      for (const w of [...waiters]) w();
    }),
  );
  return {
    proc,
    output: () => out,
    done,
    waitFor: (re, ms) =>
      new Promise<void>((res, rej) => {
        const check = (): void => {
          if (re.test(out)) {
            finish();
            res();
          } else if (!running.has(proc)) {
            finish();
            rej(new Error(`"${command}" ended before printing ${re}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          rej(new Error(`"${command}" did not print ${re} within ${ms} ms:\n${out}`));
        }, ms);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Runs `command` to its end within `ms` (in `cwd`, default the repository). */
async function run(command: string, ms: number, cwd = ROOT): Promise<Ran> {
  const c = start(command, cwd);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`"${command}" still running after ${ms} ms:\n${c.output()}`)), ms);
  });
  try {
    return await Promise.race([c.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** In a clone the `ls-token` bin is only in `dist/` after a build: run its source instead. */
const fromSource = (command: string): string => command.replace(/^npx --no-install ls-token\b/, 'npx tsx src/cli/main.ts');

type Check = { skip: string } | { test: () => Promise<void>; timeoutMs: number };

/** How each README command is checked. The keys must be exactly the README's commands. */
const CHECKS: Record<string, Check> = {
  'npm install github:ls-token-lifecycle/ls-token-lifecycle': { skip: 'installs from GitHub: needs the network' },
  'git clone https://github.com/ls-token-lifecycle/ls-token-lifecycle.git': { skip: 'clones from GitHub: needs the network' },
  'cd ls-token-lifecycle && npm ci && npm pack': {
    skip: 'runs in the clone of the previous command; `npm ci` here would replace the node_modules this test runs from (package contents are checked by `npm run lint:package`)',
  },
  'npm ci && npm test': { skip: 'this is the test suite itself (it would run this test again); `.ci/run` runs it from a fresh `npm ci`' },
  'npm ci && npm run demo': {
    // `npm ci` left out: it would replace the node_modules this test runs from.
    timeoutMs: 40_000,
    test: async () => {
      const demo = start('npm run demo');
      // Runs until Ctrl-C: wait for a refresh (the replaced token revoked), then press it.
      await demo.waitFor(/orders\s+revoked\s+token \w+ reason=superseded/, 25_000);
      process.kill(-demo.proc.pid!, 'SIGINT');
      const r = await demo.done;
      expect(r.out).toMatch(/Ctrl-C: shutting down/);
      expect(r.out).toMatch(/orders\s+revoked\s+token \w+ reason=shutdown/);
      expect(r.out).toContain('tokens still alive at the mock LS: 0');
      // npm dies by the Ctrl-C it received along with the demo; the demo itself exits 0 (test/demo.test.ts).
      expect(r.code === 0 || r.signal === 'SIGINT').toBe(true);
    },
  },
  'npx tsx examples/trading-day.ts': {
    timeoutMs: 40_000,
    test: async () => {
      const r = await run('npx tsx examples/trading-day.ts', 35_000);
      expect({ code: r.code, out: r.out }).toEqual({ code: 0, out: expect.stringMatching(/0 handed a token LS had killed; token requests at LS: 2/) });
      expect(r.out).toMatch(/tokens alive at LS: 0/);
    },
  },
  'npx --no-install ls-token mock-server --control --port 8080': { skip: 'run below, together with the curl command that needs it' },
  [`curl -s -X POST 127.0.0.1:8080/__mock/clock -H 'content-type: application/json' -d '{"at":"2026-12-01T06:59:30+09:00"}'`]: {
    timeoutMs: 30_000,
    test: async () => {
      const [serve, curl] = readmeCommands().filter((c) => c.startsWith('npx --no-install ls-token mock-server') || c.startsWith('curl '));
      const port = String(await freePort()); // 8080 may be taken on this machine
      const server = start(fromSource(serve!).replace('8080', port));
      await server.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 20_000);
      const r = await run(curl!.replace('8080', port), 10_000);
      expect(r.code).toBe(0);
      const answer = JSON.parse(r.out) as { now: string; clockOffsetMs: number };
      expect(answer.now).toMatch(/^2026-11-30T21:59:30\.\d{3}Z$/); // 06:59:30 KST on 1 December
      expect(typeof answer.clockOffsetMs).toBe('number');
      process.kill(-server.proc.pid!, 'SIGINT'); // Ctrl-C
      const stopped = await server.done;
      expect(stopped.out).toMatch(/mock-server: stopping/);
      // The shell and npx die by the Ctrl-C they received too; the mock itself ends cleanly.
      expect(stopped.code === 0 || stopped.signal === 'SIGINT').toBe(true);
    },
  },
  'npx --no-install ls-token --help': {
    timeoutMs: 30_000,
    test: async () => {
      const r = await run(fromSource('npx --no-install ls-token --help'), 25_000);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage: ls-token <command> \[options\]/);
      for (const c of COMMANDS) expect(r.out).toContain(c.name);
    },
  },
};

afterEach(() => {
  for (const p of running) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

describe('README commands', () => {
  it('every shell command of the README is checked below (run, or skipped with a reason)', () => {
    expect(readmeCommands().sort()).toEqual(Object.keys(CHECKS).sort());
  });

  for (const [command, check] of Object.entries(CHECKS)) {
    if ('skip' in check) {
      it(`skips: ${command} (${check.skip})`, () => {
        expect(check.skip.length).toBeGreaterThan(10);
      });
    } else {
      it(`runs: ${command}`, check.test, check.timeoutMs);
    }
  }

  it('the quick start is examples/quickstart.ts verbatim (imports by package name), and it runs', async () => {
    const section = README.slice(README.indexOf('## Quick start'), README.indexOf('## Into your daemon'));
    const shown = fencedBlocks(section).find((b) => b.lang === 'ts')?.body;
    const file = read('examples/quickstart.ts').replaceAll("'../src/index.js'", "'ls-token-lifecycle'").replaceAll("'../src/testing/index.js'", "'ls-token-lifecycle/testing'");
    expect(shown).toBe(file);
    expect(section).toContain('`npx tsx examples/quickstart.ts`');
    const r = await run('npx tsx examples/quickstart.ts', 25_000);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/t1102 -> 00000/);
    expect(r.out).toMatch(/healthy: true/);
    expect(r.out).toMatch(/shutdown: 1 revoked, 0 not revoked/);
  }, 30_000);
});

/** The quick start's two forms as the README shows them: the ESM block, and the CommonJS one with the ESM body in its `main`. */
function quickStartForms(): { esm: string; cjs: string } {
  const section = README.slice(README.indexOf('## Quick start'), README.indexOf('## Into your daemon'));
  const esm = fencedBlocks(section).find((b) => b.lang === 'ts')!.body;
  const cjsShown = fencedBlocks(section).find((b) => b.lang === 'js')!.body;
  const placeholder = /^ *\/\/ the quick start above, from `const mock` to `await mock\.close\(\);`\n/m;
  expect(cjsShown).toMatch(placeholder);
  const body = esm.slice(esm.indexOf('const mock'));
  expect(body.trimEnd().endsWith('await mock.close();')).toBe(true);
  const cjs = cjsShown.replace(placeholder, body.replace(/^(?=.)/gm, '  '));
  return { esm, cjs };
}

describe('the quick start in a new project (npm init -y, the packed tarball)', () => {
  let work: string;
  let project: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ls-token-quickstart-'));
    // A private build and pack: `npm pack` here would run `prepare` (rm -rf dist) under the other tests.
    const pkgDir = join(work, 'package');
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const built = await run(`"${process.execPath}" "${tsc}" -p tsconfig.build.json --outDir "${join(pkgDir, 'dist')}"`, 90_000);
    expect(built).toMatchObject({ code: 0 });
    for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) cpSync(join(ROOT, f), join(pkgDir, f));
    const packed = await run(`npm pack --ignore-scripts --silent --pack-destination "${work}" "${pkgDir}"`, 60_000);
    expect(packed).toMatchObject({ code: 0 });
    const tarball = join(work, packed.out.trim().split('\n').at(-1)!);
    project = join(work, 'project');
    const init = await run(`mkdir "${project}" && cd "${project}" && npm init -y`, 30_000);
    expect(init).toMatchObject({ code: 0 });
    expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'))).toMatchObject({ type: 'commonjs' }); // what a new user gets
    // Offline: the runtime dependencies come from this repository's node_modules (no registry, no
    // cache needed); the tarball itself is installed as a user installs it.
    const deps = ['axios', 'keyv', 'p-retry', 'eventemitter3'].map((d) => `"${join(ROOT, 'node_modules', d)}"`).join(' ');
    const installed = await run(`npm install --offline --ignore-scripts --no-audit --no-fund "${tarball}" ${deps}`, 90_000, project);
    expect(installed).toMatchObject({ code: 0 });
  }, 240_000);
  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('the ESM form runs as quickstart.mjs; as a .js file of the CommonJS project its top-level await cannot', async () => {
    const { esm } = quickStartForms();
    writeFileSync(join(project, 'quickstart.mjs'), esm);
    writeFileSync(join(project, 'quickstart-esm-as.js'), esm);
    const [ok, wrong] = await Promise.all([run('node quickstart.mjs', 30_000, project), run('node quickstart-esm-as.js', 30_000, project)]);
    expect({ code: ok.code, out: ok.out }).toEqual({ code: 0, out: expect.stringMatching(/t1102 -> 00000[\s\S]*healthy: true[\s\S]*shutdown: 1 revoked, 0 not revoked/) });
    expect(wrong.code).not.toBe(0); // why the README says what a project needs
  }, 60_000);

  it('the CommonJS form runs as a .js file of the CommonJS project', async () => {
    writeFileSync(join(project, 'quickstart.js'), quickStartForms().cjs);
    const r = await run('node quickstart.js', 30_000, project);
    expect({ code: r.code, out: r.out }).toEqual({ code: 0, out: expect.stringMatching(/t1102 -> 00000[\s\S]*healthy: true[\s\S]*shutdown: 1 revoked, 0 not revoked/) });
  }, 60_000);

  it('the CLI runs there as the README says: npx --no-install ls-token', async () => {
    const r = await run('npx --no-install ls-token --help', 30_000, project);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: ls-token <command> \[options\]/);
  }, 40_000);
});

describe('README and docs/', () => {
  it('the README stays under 16 KB and has a table of contents of its sections', () => {
    // 16 KB since the quick start shows its CommonJS form too (a new `npm init -y` project is CommonJS).
    expect(Buffer.byteLength(README)).toBeLessThan(16_000);
    const sections = [...README.matchAll(/^## (.+)$/gm)].map((m) => slug(m[1]!)).filter((s) => s !== 'license');
    for (const s of sections) expect(README).toContain(`](#${s})`);
  });

  it('README links work from the npm tarball: anchors exist, files are linked through the repository and exist', () => {
    const own = anchors(README);
    for (const target of links(README)) {
      if (target.startsWith('#')) expect({ target, exists: own.has(target.slice(1)) }).toEqual({ target, exists: true });
      else if (target.startsWith(REPO_BLOB)) expect({ target, exists: existsSync(join(ROOT, target.slice(REPO_BLOB.length))) }).toEqual({ target, exists: true });
      else expect({ target, external: /^https:\/\/(?!github\.com\/ls-token-lifecycle\/)/.test(target) }).toEqual({ target, external: true });
    }
  });

  it.each(DOC_PAGES)('%s: relative links point at files and sections that exist', (page) => {
    const text = read(page);
    for (const target of links(text)) {
      if (/^https?:/.test(target)) continue;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const file = path === '' ? page : join('docs', path);
      expect({ target, exists: existsSync(resolve(ROOT, file)) }).toEqual({ target, exists: true });
      if (anchor !== undefined) expect({ target, exists: anchors(read(file)).has(anchor) }).toEqual({ target, exists: true });
    }
  });

  it('no project-internal words, and one name for the encryption key variable', () => {
    for (const page of ['README.md', 'CHANGELOG.md', ...DOC_PAGES]) {
      const text = read(page);
      expect({ page, hits: text.match(/LS_TOKEN_KEY\b|\bthe issues\b|\bissues? \d|design card|project machine/gi) }).toEqual({ page, hits: null });
    }
  });

  it('the options table names every option of TokenLifecycleOptions and LsOAuthClientOptions', () => {
    const names = (file: string, iface: string): string[] => {
      const src = read(file);
      const body = src.slice(src.indexOf(`export interface ${iface}`), src.indexOf('\n}\n', src.indexOf(`export interface ${iface}`)));
      return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]!);
    };
    const options = [...names('src/lifecycle/lifecycle-options.ts', 'TokenLifecycleOptions'), ...names('src/providers/client-options.ts', 'LsOAuthClientOptions')];
    expect(options.length).toBeGreaterThan(30);
    const table = README.slice(README.indexOf('## Options'), README.indexOf('## Events'));
    for (const o of options) expect({ option: o, listed: table.includes(`\`${o}\``) }).toEqual({ option: o, listed: true });
  });

  it('the events and errors tables name every event and every error code', () => {
    const src = read('src/core/events.ts');
    const map = src.slice(src.indexOf('export interface LifecycleEvents'));
    const events = [...map.slice(0, map.indexOf('\n}\n')).matchAll(/^ {2}(\w+): \(/gm)].map((m) => m[1]!);
    expect(events.length).toBe(7);
    const eventTable = README.slice(README.indexOf('## Events'), README.indexOf('## Errors'));
    for (const e of events) expect(eventTable).toContain(`| \`${e}\` |`);
    const errorTable = README.slice(README.indexOf('## Errors'), README.indexOf('## Guarantees'));
    for (const code of Object.values(ErrorCodes)) expect(errorTable).toContain(`| \`${code}\` |`);
  });

  it('docs/cli.md documents every command, every flag and every exit code of the CLI', () => {
    const cli = read('docs/cli.md');
    for (const c of COMMANDS) {
      // The usage lines are the CLI's own, generated from the table that parses.
      expect({ command: c.name, usageAsGenerated: cli.includes(usageLine(c)) }).toEqual({ command: c.name, usageAsGenerated: true });
      const section = cli.slice(cli.indexOf(`### \`ls-token ${c.name}\``));
      expect({ command: c.name, documented: cli.includes(`### \`ls-token ${c.name}\``) }).toEqual({ command: c.name, documented: true });
      for (const [name, o] of Object.entries(c.options)) {
        const flag = o.envOnly === true ? o.env! : `--${name}`;
        expect({ command: c.name, flag, documented: section.includes(flag) || cli.includes(`\`${flag}`) }).toEqual({ command: c.name, flag, documented: true });
      }
    }
    for (const [code] of EXIT_CODE_HELP) expect(cli).toContain(`| \`${code}\` |`);
  });
});
