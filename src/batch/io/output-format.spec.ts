import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { csvValue, formatFloat32, jsonValue, kindOf, passthroughType, rowEncoder, KIND, write } from './output-format';

describe('output values', () => {
  it('writes float32 outputs with the shortest decimal that reads back the same', () => {
    for (const v of [142.5, 0.1, 1 / 3, 123456.789, -2.5e-8, 3.4e38]) {
      const f = Math.fround(v);
      const s = formatFloat32(f);
      expect(Math.fround(Number(s))).toBe(f);
      expect(s.length).toBeLessThanOrEqual(String(f).length);
    }
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
  });

  it('encodes rows for CSV, JSONL and the parquet staging format', () => {
    const columns = [
      { name: 'store', type: 'string' as const },
      { name: 'model', type: 'string' as const },
      { name: 'version', type: 'int32' as const },
      { name: 'variable', type: 'float' as const },
      { name: 'label', type: 'int64' as const },
    ];
    const values = ['0,42', 'm', 3, Math.fround(0.1), 7n];
    expect(rowEncoder('csv', columns)(values)).toBe('"0,42",m,3,0.1,7\n');
    expect(rowEncoder('jsonl', columns)([...values.slice(0, 4), undefined])).toBe('{"store":"0,42","model":"m","version":3,"variable":0.1}\n');
    expect(rowEncoder('parquet', columns)(values)).toBe('["0,42","m",3,0.1,"7"]\n');
    expect(csvValue(NaN, 'double')).toBe('NaN');
    expect(jsonValue(NaN)).toBe('null');
  });

  it('types passthrough columns from the values seen', () => {
    expect(passthroughType(KIND.number)).toBe('double');
    expect(passthroughType(KIND.boolean)).toBe('boolean');
    expect(passthroughType(KIND.string | KIND.number)).toBe('string');
    expect(passthroughType(KIND.number | KIND.fraction)).toBe('double');
  });

  it('types integer columns with values beyond 2^53 as INT64, and as text what INT64 cannot hold exactly', () => {
    const kinds = (...values: unknown[]) => values.reduce<number>((k, v) => k | kindOf(v), 0);
    expect(passthroughType(kinds(9007199254740993n, 12, -3))).toBe('int64');
    expect(passthroughType(kinds(9223372036854775807n))).toBe('int64');
    expect(passthroughType(kinds(9007199254740993n, 1.5))).toBe('string');
    expect(passthroughType(kinds(18446744073709551615n, 1))).toBe('string');
    expect(passthroughType(kinds(1, 2.5))).toBe('double');
  });
});

describe('writing output under backpressure', () => {
  it('waits for each drain without leaving listeners behind', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'final-output-'));
    const out = fs.createWriteStream(path.join(dir, 'out.csv'));
    try {
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      let waits = 0;
      for (let i = 0; i < 30; i++) {
        const wait = write(out, chunk);
        if (wait) {
          waits++;
          await wait;
        }
      }
      expect(waits).toBe(30); // every 1 MiB chunk overfills the 16 KiB buffer
      expect(out.listenerCount('error')).toBeLessThan(3);
      expect(out.listenerCount('drain')).toBe(0);
    } finally {
      await new Promise((resolve) => out.end(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
