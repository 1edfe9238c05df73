import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { mulberry32 } from '../../../test/fixtures/onnx-builder';
import { csvRecords } from '../../common/csv';
import { CsvStager, MAX_RECORD_BYTES } from './csv-stager';
import { SpillWriter } from './spill-writer';
import { parseStagingRows } from './staging';

const COLUMNS = ['store', 'region', 'id', 'f1', 'f2'];
const ROUTE_COUNT = 2;
const keyOf = (values: readonly unknown[]) => JSON.stringify(values);

/** What the string reader (csvRecords) makes of the text: per row, its route key and staged values. */
async function expected(text: string): Promise<{ missing: string[]; rows: Array<{ key: string; values: unknown[] }> }> {
  const records: string[][] = [];
  for await (const batch of csvRecords(Readable.from([text]), 7)) records.push(...batch);
  const header = records.shift() ?? [];
  const index = new Map<string, number>();
  header.forEach((name, i) => (index.has(name) ? undefined : index.set(name, i)));
  const at = COLUMNS.map((c) => index.get(c) ?? -1);
  const missing = COLUMNS.filter((c) => !index.has(c));
  const rows = missing.length ? [] : records.map((r) => at.map((i) => (i < 0 || i >= r.length ? undefined : r[i])));
  return { missing, rows: rows.map((v) => ({ key: keyOf(v.slice(0, ROUTE_COUNT)), values: v.slice(ROUTE_COUNT).map((x) => x ?? null) })) };
}

/** What the byte stager stages from the same bytes, read in small chunks. */
async function staged(dir: string, text: string, chunkBytes: number): Promise<{ missing: string[]; rows: Array<{ key: string; values: unknown[] }> }> {
  const file = path.join(dir, 'in.csv');
  fs.writeFileSync(file, text);
  const stager = await CsvStager.open(file, COLUMNS, chunkBytes);
  const keys = new Map<number, string>();
  const files = new Map<string, string>();
  let rowNo = 0;
  const spill = new SpillWriter(64, 256);
  try {
    if (stager.missing.length) return { missing: stager.missing, rows: [] };
    await stager.stage(ROUTE_COUNT, (values) => keyOf(values.slice(0, ROUTE_COUNT)), (key) => {
      if (!files.has(key)) files.set(key, path.join(dir, `p${files.size}`));
      keys.set(++rowNo, key);
      return { file: files.get(key)!, rowNo };
    }, spill, () => undefined);
    await spill.flush();
  } finally {
    stager.close();
  }
  const rows: Array<{ key: string; values: unknown[] }> = [];
  for (const f of files.values()) {
    for (const [n, ...values] of parseStagingRows(fs.readFileSync(f, 'utf8'))) rows[(n as number) - 1] = { key: keys.get(n as number)!, values };
  }
  return { missing: [], rows };
}

/** CSV text with the awkward cases: quotes, commas and line breaks in quotes, CRLF, lone CRs, blank lines, short records, multi-byte characters. */
function awkwardCsv(seed: number): string {
  const rand = mulberry32(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const field = () =>
    pick(['s1', 's2', 'north', 'zuid-€', '', '12.5', '-3', 'naïve', '"q,uoted"', '"multi\nline"', '"a ""quote"""', '"cr\r\nlf"', 'x\ry', '""']);
  const eol = () => pick(['\n', '\r\n', '\n', '\n\n']);
  const header = pick([
    ['id', 'store', 'region', 'f1', 'f2', 'extra'],
    ['region', '"store"', 'id', 'f2', 'f1'],
    ['store', 'region', 'id', 'f1', 'f2', 'store'],
    // A lone CR in a header: inside a name when the header has no quote, ending it when it has.
    ['store', 'region', 'id', 'f1', 'f2\rx', 'f2'],
    ['store', 'region\r', '"id"', 'f1', 'f2'],
  ]);
  // A lone CR after the header: the end of a quoted header, part of an unquoted one's last name.
  let text = (rand() < 0.3 ? '\ufeff' : '') + (rand() < 0.2 ? '\n' : '') + header.join(',') + (rand() < 0.15 ? '\r' : eol());
  const rows = 20 + Math.floor(rand() * 60);
  for (let r = 0; r < rows; r++) {
    const width = rand() < 0.1 ? Math.floor(rand() * header.length) + 1 : header.length;
    text += Array.from({ length: width }, field).join(',') + (r === rows - 1 && rand() < 0.5 ? '' : eol());
  }
  return text;
}

describe('CsvStager', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stager-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('stages the same rows, keys and values as the string reader, whatever the chunk boundaries', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const text = awkwardCsv(seed);
      const want = await expected(text);
      for (const chunk of [7, 64 * 1024]) {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir);
        expect({ seed, chunk, ...(await staged(dir, text, chunk)) }).toEqual({ seed, chunk, ...want });
      }
    }
  }, 60_000);

  it('reports the columns the header lacks, and an unterminated quote', async () => {
    expect((await staged(dir, 'store,region,id\n1,2,3\n', 8)).missing).toEqual(['f1', 'f2']);
    expect((await staged(dir, '', 8)).missing).toEqual(COLUMNS);
    await expect(staged(dir, 'store,region,id,f1,f2\na,b,"c,1,2\n', 8)).rejects.toThrow('unterminated quoted field');
  });

  it('reads a file whose lines end in a CR alone (Excel\'s "CSV (Macintosh)") as the same file with LFs, whatever the chunk boundaries', async () => {
    const lines = ['store,region,id,f1,f2', 's1,north,1,"a\rb",2', 's2,zuid,2,3,', 's3,west,3,"x,y",5'];
    const want = await expected(lines.join('\n') + '\n');
    expect(want.rows).toHaveLength(3);
    for (const chunk of [7, 64 * 1024]) {
      // A quoted CR is a line break inside its field, read as LF (one byte for another: pandas reads it so too).
      const got = await staged(dir, lines.join('\r') + '\r', chunk);
      expect({ chunk, ...got }).toEqual({ chunk, ...want, rows: want.rows.map((r) => ({ ...r, values: r.values.map((v) => (v === 'a\rb' ? 'a\nb' : v)) })) });
    }
  });

  it('refuses a header or a record that never ends before holding more than MAX_RECORD_BYTES of it', async () => {
    const endless = 'x'.repeat(MAX_RECORD_BYTES + 1024 * 1024);
    await expect(staged(dir, endless, 1024 * 1024)).rejects.toThrow(`The header row is longer than 16 MiB without ending`);
    await expect(staged(dir, `store,region,id,f1,f2\na,b,1,2,3\na,b,"${endless}`, 1024 * 1024)).rejects.toThrow(`A record is longer than 16 MiB without ending`);
    // Just below the bound, a long record is read.
    const long = 'y'.repeat(MAX_RECORD_BYTES - 1024);
    expect((await staged(dir, `store,region,id,f1,f2\na,b,1,${long},3\n`, 1024 * 1024)).rows).toEqual([{ key: '["a","b"]', values: ['1', long, '3'] }]);
  }, 30_000);

  it('stops when the planner refuses a row (too many routes)', async () => {
    const file = path.join(dir, 'in.csv');
    fs.writeFileSync(file, 'store,region,id,f1,f2\n' + Array.from({ length: 50 }, (_, i) => `s${i},r,${i},1,2`).join('\n'));
    const stager = await CsvStager.open(file, COLUMNS, 64);
    let placed = 0;
    const complete = await stager.stage(ROUTE_COUNT, keyOf, () => (placed++ < 10 ? { file: path.join(dir, 'p'), rowNo: placed } : null), new SpillWriter(), () => undefined);
    stager.close();
    expect(complete).toBe(false);
    expect(placed).toBe(11);
  });
});
