import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiClient, seg } from '../api-client';
import { ApiError } from '../errors';
import { Progress } from '../progress';
import { Candidate } from './discover';

export interface RegisteredVersion {
  name: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  format: string;
  segment: Record<string, string> | null;
  tags: Record<string, string>;
  [key: string]: unknown;
}

export type Outcome =
  | { ok: true; file: string; name: string; version: RegisteredVersion }
  | { ok: false; file: string; name: string; error: { status: number | null; code: string; message: string; details?: Record<string, unknown> } };

/**
 * Uploads each candidate (POST /v1/models/{name}/versions) with at most `concurrency` in
 * flight, reporting each as it ends. A failure never stops the others: they are all
 * reported at the end. Outcomes come back in the candidates' order.
 */
export async function registerFiles(api: ApiClient, candidates: Candidate[], concurrency: number, progress: Progress): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(candidates.length);
  let next = 0;
  let done = 0;
  const total = candidates.length;
  const width = String(total).length;
  progress.update(0, total, 'starting');
  const worker = async () => {
    while (next < total) {
      const index = next++;
      const c = candidates[index];
      const outcome = await registerOne(api, c);
      outcomes[index] = outcome;
      done++;
      const step = `[${String(done).padStart(width)}/${total}]`;
      const line = outcome.ok
        ? `${step} registered ${outcome.name} version ${outcome.version.version} ← ${path.basename(c.file)}`
        : `${step} FAILED ${path.basename(c.file)}: ${outcome.error.message}`;
      progress.update(done, total, path.basename(c.file), line);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
  progress.stop();
  return outcomes;
}

async function registerOne(api: ApiClient, c: Candidate): Promise<Outcome> {
  if (c.problem) return { ok: false, file: c.file, name: c.name, error: { status: null, code: 'NOT_SENT', message: c.problem } };
  try {
    const form = new FormData();
    // openAsBlob streams the file when the request is sent, instead of reading it all first.
    form.append('artifact', await fs.openAsBlob(c.file), path.basename(c.file));
    if (Object.keys(c.segment).length) form.append('segment', JSON.stringify(c.segment));
    if (Object.keys(c.tags).length) form.append('tags', JSON.stringify(c.tags));
    if (c.description) form.append('description', c.description);
    const version = await api.request<RegisteredVersion>('POST', `/v1/models/${seg(c.name)}/versions`, { form });
    return { ok: true, file: c.file, name: c.name, version };
  } catch (error) {
    if (error instanceof ApiError) return { ok: false, file: c.file, name: c.name, error: error.toJSON() };
    return { ok: false, file: c.file, name: c.name, error: { status: null, code: 'REQUEST_FAILED', message: (error as Error).message } };
  }
}
