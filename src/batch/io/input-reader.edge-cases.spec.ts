import * as fs from 'node:fs';
import * as path from 'node:path';
import { useTempDir } from '../../../test/support/temp-dir';
import { openInput } from './input-reader';

/** The bound on a line, as on a CSV record (README "Input"). */
const MAX_LINE_CHARS = 16 * 1024 * 1024;

async function readJsonl(file: string, columns: string[]): Promise<unknown[][]> {
  const input = await openInput(file, 'jsonl', columns);
  const rows: unknown[][] = [];
  try {
    for await (const batch of input.batches) rows.push(...batch);
  } finally {
    await input.close();
  }
  return rows;
}

describe('reading JSONL input: line bounds', () => {
  const tmp = useTempDir('mms-jsonl-lines-');

  it('fails on a line longer than the bound (a JSON array of all rows) instead of reading it whole', async () => {
    const file = path.join(tmp(), 'array.jsonl');
    const row = JSON.stringify({ model: 'a', x: 1 });
    fs.writeFileSync(file, `${row}\n[${Array.from({ length: Math.ceil(MAX_LINE_CHARS / row.length) + 10 }, () => row).join(',')}]\n`);
    await expect(readJsonl(file, ['model', 'x'])).rejects.toThrow(/A line is longer than 16 MiB without ending: JSON Lines takes one object per line/);
  });

  it('splits lines at LF, CRLF and CR as before, whatever the chunk boundaries', async () => {
    const file = path.join(tmp(), 'mixed.jsonl');
    // Long enough to span several read chunks, with a CRLF on every boundary somewhere.
    const lines = Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ model: `m${i}`, x: i }));
    const ends = ['\n', '\r\n', '\r'];
    fs.writeFileSync(file, lines.map((l, i) => l + ends[i % 3]).join(''));
    const rows = await readJsonl(file, ['model', 'x']);
    expect(rows).toHaveLength(30_000);
    expect(rows[29_999]).toEqual(['m29999', 29999]);
    expect(rows.every((r, i) => r[1] === i)).toBe(true);
  });
});
