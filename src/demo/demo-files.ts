import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { DEMO_FEATURES, DemoStore } from './retail-data';

/** Where the demo's batch input lives, relative to MMS_DATA_DIR (batch input URIs are). */
export const DEMO_CSV_URI = 'demo/sales.csv';
export const DEMO_JOB_FILE = 'demo/batch-job.json';

/** A POST /v1/batch-jobs body that scores the demo CSV, routing each row by its region and store. */
export function demoBatchJob() {
  return {
    input: { uri: DEMO_CSV_URI, format: 'csv' },
    route: { by: 'segment', columns: ['region', 'store'] },
    features: [...DEMO_FEATURES],
    passthrough: ['region', 'store', 'date'],
    output: { format: 'csv' },
  };
}

/**
 * The demo's forecast week as CSV (store, region, date, then the six features): one row per
 * store and day, including the stores that have no model yet (they fall back to their region).
 */
export function demoCsv(stores: readonly DemoStore[]): string {
  const lines = [['store', 'region', 'date', ...DEMO_FEATURES].join(',')];
  for (const s of stores) for (const day of s.forecast) lines.push([s.store, s.region, day.date, ...day.features].join(','));
  return `${lines.join('\n')}\n`;
}

/** Writes the CSV and the job body next to it; returns their absolute paths. */
export async function writeDemoFiles(dataDir: string, stores: readonly DemoStore[]): Promise<{ csv: string; job: string }> {
  const csv = path.join(dataDir, DEMO_CSV_URI);
  const job = path.join(dataDir, DEMO_JOB_FILE);
  await fsp.mkdir(path.dirname(csv), { recursive: true });
  await fsp.writeFile(csv, demoCsv(stores));
  await fsp.writeFile(job, `${JSON.stringify(demoBatchJob(), null, 2)}\n`);
  return { csv, job };
}
