import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { TestApp } from './test-app';

/** Helpers for batch tests: input files in the data directory, waiting for jobs, reading outputs. */

export type Row = Record<string, string | number | boolean | null | bigint>;

export function writeInput(t: TestApp, rel: string, format: 'csv' | 'jsonl' | 'parquet', rows: Row[], columns: string[]): void {
  const file = path.join(t.dataDir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (format === 'csv') {
    const esc = (v: unknown) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
    fs.writeFileSync(file, [columns.join(','), ...rows.map((r) => columns.map((c) => esc(r[c])).join(','))].join('\n') + '\n');
  } else if (format === 'jsonl') {
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  } else {
    const columnData = columns.map((name) => {
      const data = rows.map((r) => r[name] ?? null);
      const type = typeof data.find((v) => v !== null) === 'number' ? 'DOUBLE' : 'STRING';
      return { name, data, type: type as 'DOUBLE' | 'STRING' };
    });
    fs.writeFileSync(file, Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize: 700 })));
  }
}

export async function readOutput(t: TestApp, jobId: string, format: 'csv' | 'jsonl' | 'parquet'): Promise<{ contentType: string | null; rows: Row[] }> {
  const response = await fetch(`${t.baseUrl}/v1/batch-jobs/${jobId}/output`, { headers: { authorization: `Bearer test-root-token-0123456789abcdef` } });
  if (response.status !== 200) throw new Error(`output answered ${response.status}: ${await response.text()}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  return { contentType: response.headers.get('content-type'), rows: await parseOutputAsync(bytes, format) };
}

export async function parseOutputAsync(bytes: Buffer, format: 'csv' | 'jsonl' | 'parquet'): Promise<Row[]> {
  if (format !== 'parquet') return parseOutput(bytes, format);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return (await parquetReadObjects({ file: ab })) as Row[];
}

function parseOutput(bytes: Buffer, format: 'csv' | 'jsonl' | 'parquet'): Row[] {
  if (format === 'csv') return parse(bytes, { columns: true }) as Row[];
  if (format === 'jsonl') {
    return bytes
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row);
  }
  throw new Error('use parseOutputAsync for parquet');
}

/** Polls a job until `done(job)` (default: a terminal status) or the timeout. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function waitForJob(t: TestApp, id: string, done: (job: any) => boolean = (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status), timeoutMs = 60_000, credential?: string): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.request('GET', `/v1/batch-jobs/${id}`, credential ? { headers: { authorization: `Bearer ${credential}` } } : {});
    if (res.status === 200 && done(res.body)) return res.body;
    if (Date.now() > until) throw new Error(`job ${id} not done in ${timeoutMs} ms: ${JSON.stringify(res.body).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
