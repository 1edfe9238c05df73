import * as fs from 'node:fs';
import * as path from 'node:path';
import { codecsOf, parquetWithCodec, TestCodec } from '../../../test/support/parquet-codecs';
import { useTempDir } from '../../../test/support/temp-dir';
import { NOT_AN_OBJECT, openInput, PARQUET_CODECS } from './input-reader';

/** 2,000 rows in row groups of 700: a store, a date and two features with a few nulls. */
const ROWS = 2000;
const columnData = [
  { name: 'store', data: Array.from({ length: ROWS }, (_, i) => `store-${String(i % 37).padStart(4, '0')}`), type: 'STRING' as const },
  { name: 'date', data: Array.from({ length: ROWS }, (_, i) => `2026-11-${String((i % 28) + 1).padStart(2, '0')}`), type: 'STRING' as const },
  { name: 'price', data: Array.from({ length: ROWS }, (_, i) => (i % 101 === 0 ? null : Math.round(i * 37.7) / 100)), type: 'DOUBLE' as const },
  { name: 'promo', data: Array.from({ length: ROWS }, (_, i) => i % 3), type: 'DOUBLE' as const },
];

async function readAll(file: string, columns: string[]): Promise<unknown[][]> {
  const input = await openInput(file, 'parquet', columns);
  expect(input.missing).toEqual([]);
  const rows: unknown[][] = [];
  for await (const batch of input.batches) rows.push(...batch);
  await input.close();
  return rows;
}

describe('reading Parquet input', () => {
  const dir = useTempDir('mms-parquet-');

  it('reads the codecs hyparquet-compressors adds, row for row the same as uncompressed', async () => {
    expect(PARQUET_CODECS).toEqual(expect.arrayContaining(['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD', 'BROTLI', 'LZ4', 'LZ4_RAW']));
    const expected = Array.from({ length: ROWS }, (_, i) => [columnData[3].data[i], columnData[0].data[i], columnData[2].data[i]]);
    for (const codec of ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD', 'BROTLI'] as TestCodec[]) {
      const bytes = await parquetWithCodec(columnData, codec);
      expect(codecsOf(bytes)).toEqual([codec]);
      const file = path.join(dir(), `sales-${codec}.parquet`);
      fs.writeFileSync(file, bytes);
      const rows = await readAll(file, ['promo', 'store', 'price']);
      expect([codec, rows.length]).toEqual([codec, ROWS]);
      expect(rows).toEqual(expected);
    }
  });

  it('refuses a codec it cannot decompress before reading any row, naming the column and the codec', async () => {
    const file = path.join(dir(), 'sales-lzo.parquet');
    fs.writeFileSync(file, await parquetWithCodec(columnData, 'LZO_MISLABELLED'));
    await expect(openInput(file, 'parquet', ['store', 'price'])).rejects.toThrow(
      /^parquet column 'store' is compressed with LZO, which cannot be read; supported codecs: UNCOMPRESSED, SNAPPY, .*ZSTD/,
    );
  });

  it('still opens a file whose unsupported codec is only on columns the job does not read', async () => {
    const mixed = columnData.map((c) => (c.name === 'date' ? { ...c, codec: 'LZO' as const } : c));
    const file = path.join(dir(), 'sales-mixed.parquet');
    fs.writeFileSync(file, await parquetWithCodec(mixed as typeof columnData, 'ZSTD'));
    expect(await readAll(file, ['store', 'promo'])).toHaveLength(ROWS);
    await expect(openInput(file, 'parquet', ['date'])).rejects.toThrow(/column 'date' is compressed with LZO/);
  });
});

describe('reading JSONL input', () => {
  const tmp = useTempDir('mms-jsonl-');

  it('keeps integers beyond 2^53 exact (as bigints), wherever they are, and leaves everything else as JSON.parse reads it', async () => {
    const file = path.join(tmp(), 'in.jsonl');
    const lines = [
      '{"id":12345678901234567890,"big":-9007199254740993,"safe":9007199254740991,"f":1234567890123456.5,"e":12345678901234567e3,"s":"12345678901234567890"}',
      '{"id":1,"nested":{"n":[98765432109876543210]},"s":"quote \\" 12345678901234567890","f":0.1}',
    ];
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const input = await openInput(file, 'jsonl', ['id', 'big', 'safe', 'f', 'e', 's', 'nested']);
    const rows: unknown[][] = [];
    for await (const batch of input.batches) rows.push(...batch);
    await input.close();
    expect(rows).toEqual([
      [12345678901234567890n, -9007199254740993n, 9007199254740991, 1234567890123456.5, 12345678901234567e3, '12345678901234567890', undefined],
      [1, undefined, undefined, 0.1, undefined, 'quote " 12345678901234567890', { n: [98765432109876543210n] }],
    ]);
  });
});

describe('reading JSONL lines that are not objects', () => {
  const tmp = useTempDir('mms-jsonl-bad-');

  it('skips a BOM, and marks lines that are not JSON objects so that their rows fail with that reason', async () => {
    const file = path.join(tmp(), 'in.jsonl');
    fs.writeFileSync(file, '\ufeff{"model":"a","x":1}\n{not json}\n[1,2]\n"text"\n\n{"model":"b","x":2}\n');
    const input = await openInput(file, 'jsonl', ['model', 'x']);
    const rows: unknown[][] = [];
    for await (const batch of input.batches) rows.push(...batch);
    await input.close();
    expect(rows).toEqual([['a', 1], [NOT_AN_OBJECT, NOT_AN_OBJECT], [NOT_AN_OBJECT, NOT_AN_OBJECT], [NOT_AN_OBJECT, NOT_AN_OBJECT], ['b', 2]]);
  });
});
