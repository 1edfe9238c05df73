import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXED_MMAP_THRESHOLD } from '../../src/common/malloc-tuning';
import { RunningProcess, spawnNode } from './processes';
import { createTestDatabase, TestDatabase } from './test-database';

export const ROOT_TOKEN = 'test-root-token-0123456789abcdef';

export interface TestApp {
  baseUrl: string;
  dataDir: string;
  storeDir: string;
  env: NodeJS.ProcessEnv;
  /** What the server printed so far. */
  output(): string;
  /** fetch against the running server with the root credential (unless headers say otherwise). */
  request(method: string, path: string, init?: { body?: unknown; headers?: Record<string, string> }): Promise<TestResponse>;
  /** Stops the server process (answering its exit code; null if it had to be killed); keeps data and database, so `restart` finds them again. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Starts the real, compiled service (`node dist/src/main.js`, exactly what `npm start` runs)
 * on a free loopback port with its own data directory and model store. With DATABASE_URL set
 * it gets a fresh database on that server; without, it runs on its embedded PGlite.
 */
export async function startTestApp(overrides: NodeJS.ProcessEnv = {}): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-data-'));
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-store-'));
  const database: TestDatabase | null = process.env.DATABASE_URL ? await createTestDatabase() : null;
  const env: NodeJS.ProcessEnv = {
    PORT: '0',
    HOST: '127.0.0.1',
    MMS_DATA_DIR: dataDir,
    MMS_MODEL_STORE: storeDir,
    MMS_ADMIN_TOKEN: ROOT_TOKEN,
    DATABASE_URL: database?.url ?? '',
    LOG_LEVEL: 'log',
    NO_COLOR: '1',
    MMS_DEMO: '0', // the demo tenant would slow every test app; test/e2e/demo.e2e.spec.ts turns it on
    GLIBC_TUNABLES: FIXED_MMAP_THRESHOLD, // as npm start sets it
    ...overrides,
  };
  let proc: RunningProcess;
  let baseUrl = '';
  let log = '';
  const start = async () => {
    const started = await spawnNode('src/main.js', [], env, /listening on (https?:\/\/\S+) /);
    proc = started.proc;
    baseUrl = started.match[1];
  };
  await start();
  const testApp: TestApp = {
    get baseUrl() {
      return baseUrl;
    },
    dataDir,
    storeDir,
    env,
    output: () => log + proc.output(),
    request: (method, p, init = {}) => send(baseUrl, method, p, init),
    stop: async (signal) => {
      const code = await proc.stop(signal);
      log += proc.output();
      return code;
    },
    restart: async () => {
      await testApp.stop();
      await start();
    },
    dispose: async () => {
      await testApp.stop();
      await database?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(storeDir, { recursive: true, force: true });
    },
  };
  return testApp;
}

async function send(baseUrl: string, method: string, p: string, init: { body?: unknown; headers?: Record<string, string> }): Promise<TestResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${ROOT_TOKEN}`, ...init.headers };
  let body: RequestInit['body'];
  // A form or a Blob (its type the content type: `new Blob([csv], { type: 'text/csv' })`) goes as it is.
  if (init.body instanceof FormData || init.body instanceof Blob) body = init.body;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${baseUrl}${p}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A multipart body for POST /v1/models/{name}/versions. */
export function artifactForm(bytes: Buffer, fields: { segment?: object; tags?: object; description?: string; filename?: string } = {}): FormData {
  const form = new FormData();
  form.append('artifact', new Blob([bytes]), fields.filename ?? 'model.onnx');
  if (fields.segment) form.append('segment', JSON.stringify(fields.segment));
  if (fields.tags) form.append('tags', JSON.stringify(fields.tags));
  if (fields.description) form.append('description', fields.description);
  return form;
}

/** Every file under a directory (recursively), for "leaves no trace" checks. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}
