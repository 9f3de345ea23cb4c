import { describe, expect, it } from '@jest/globals';
import { WalkProgress } from '../../src/cli/progress.js';

describe('WalkProgress (list --all walking the whole store)', () => {
  const sink = (): { written: string[]; write: (t: string) => void } => {
    const written: string[] = [];
    return { written, write: (t) => void written.push(t) };
  };

  it('draws the keys read in place on a terminal once the walk is slow, and clears the line at the end', () => {
    let clock = 0;
    const bar = sink();
    const p = new WalkProgress(bar, true, 'list --all', 500, () => clock);
    p.seen(1_000); // fast so far: nothing
    expect(bar.written).toEqual([]);
    clock = 600;
    p.seen(2_000);
    p.seen(1_000_000);
    expect(bar.written).toEqual(['\rlist --all: walking the whole store … 2,000 keys read\x1b[K', '\rlist --all: walking the whole store … 1,000,000 keys read\x1b[K']);
    p.finish();
    expect(bar.written.at(-1)).toBe('\r\x1b[K');
  });

  it('writes nothing when not on a terminal, or when the walk was quick', () => {
    let clock = 0;
    const pipe = sink();
    const notTty = new WalkProgress(pipe, false, 'list --all', 0, () => (clock += 1_000));
    notTty.seen(5_000);
    notTty.finish();
    expect(pipe.written).toEqual([]);
    const tty = sink();
    const quick = new WalkProgress(tty, true, 'list --all', 500, () => 0);
    quick.seen(5_000);
    quick.finish();
    expect(tty.written).toEqual([]);
  });
});
