import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpillWriter } from './spill-writer';

describe('SpillWriter', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spill-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps every line of every file, in order, through per-file and background writes', async () => {
    // Tiny bounds: per-file writes every ~2 KiB, background writes of everything every ~8 KiB.
    const spill = new SpillWriter(2048, 16 * 1024);
    const files = Array.from({ length: 7 }, (_, i) => path.join(dir, `p${i}`));
    const expected = files.map(() => [] as string[]);
    let waits = 0;
    for (let n = 0; n < 5000; n++) {
      const f = (n * 7919) % files.length;
      // Lines of varied length, some with multi-byte characters and some longer than a chunk.
      const line = `${n},${'é€'.repeat(n % 13)}${n % 997 === 0 ? 'x'.repeat(40_000) : ''}\n`;
      expected[f].push(line);
      const wait = spill.append(files[f], line);
      if (wait) {
        waits++;
        await wait;
      }
    }
    await spill.flush(true);
    files.forEach((file, i) => expect(fs.readFileSync(file, 'utf8')).toBe(expected[i].join('')));
    expect(waits).toBeGreaterThan(0); // the bound made the caller wait at least once
  });

  it('keeps a failed background write from going unhandled, and settles before the files are given up', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const spill = new SpillWriter(1 << 20, 8 * 1024);
      const gone = path.join(dir, 'gone');
      for (let n = 0; n < 200 && !unhandled.length; n++) {
        try {
          spill.append(path.join(gone, `p${n % 50}`), `${n},${'x'.repeat(100)}\n`); // never awaited, as a stopped planner leaves it
        } catch {
          break; // the failure surfaces on the next append
        }
      }
      await spill.settle();
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
      expect(() => spill.append(path.join(gone, 'p0'), 'y\n')).toThrow(/ENOENT/);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('reports a write that failed', async () => {
    const spill = new SpillWriter();
    spill.append(path.join(dir, 'missing-dir', 'p1'), 'a\n');
    await expect(spill.flush(true)).rejects.toThrow(/ENOENT/);
  });
});
