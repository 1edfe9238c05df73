import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXED_MMAP_THRESHOLD } from '../../src/common/malloc-tuning';
import { RunningProcess, spawnNode } from '../../test/support/processes';

export const BENCH_ROOT_TOKEN = 'bench-root-token-0123456789abcdef';

/** The compiled service (`node dist/src/main.js`) on a free loopback port, on its own data directory and model store. */
export interface Platform {
  url: string;
  pid: number;
  proc: RunningProcess;
  /** A scorer key of the default tenant (created by `createScorerKey`). */
  scorerKey: string;
  request(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Registers a new version of `name` from ONNX bytes (root credential). */
  upload(name: string, bytes: Buffer): Promise<void>;
  createScorerKey(): Promise<string>;
  /** VmRSS of the server process, KiB. */
  rssKiB(): number;
  stop(): Promise<void>;
}

/**
 * Starts the service as `npm start` would, with the bench's root token, on the embedded PGlite
 * in a temporary directory (DATABASE_URL is not used: the default is what a new user runs).
 * `env` wins over `extraEnv`.
 */
export async function startPlatform(env: NodeJS.ProcessEnv = {}, extraEnv: NodeJS.ProcessEnv = {}): Promise<Platform> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'serving-bench-data-'));
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'serving-bench-store-'));
  const { proc, match } = await spawnNode(
    'src/main.js',
    [],
    {
      PORT: '0',
      HOST: '127.0.0.1',
      MMS_DATA_DIR: dataDir,
      MMS_MODEL_STORE: storeDir,
      MMS_ADMIN_TOKEN: BENCH_ROOT_TOKEN,
      DATABASE_URL: '',
      MMS_DEMO: '0',
      NO_COLOR: '1',
      GLIBC_TUNABLES: FIXED_MMAP_THRESHOLD, // as npm start sets it (src/common/malloc-tuning.ts)
      ...extraEnv,
      ...env,
    },
    /listening on (http:\/\/\S+) /,
    120_000,
  );
  const url = match[1];
  const request: Platform['request'] = async (method, p, body, headers = {}) => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${BENCH_ROOT_TOKEN}`, ...headers } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(`${url}${p}`, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  };
  const platform: Platform = {
    url,
    pid: proc.child.pid!,
    proc,
    scorerKey: '',
    request,
    async upload(name, bytes) {
      const form = new FormData();
      form.append('artifact', new Blob([bytes]), `${name}.onnx`);
      const res = await request('POST', `/v1/models/${name}/versions`, form);
      if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async createScorerKey() {
      const res = await request('POST', '/v1/tenants/00000000-0000-0000-0000-000000000001/keys', { role: 'scorer' });
      if (res.status !== 201) throw new Error(`scorer key: ${res.status} ${JSON.stringify(res.body)}`);
      platform.scorerKey = res.body.key as string;
      return platform.scorerKey;
    },
    rssKiB: () => rssKiBOf(proc.child.pid!),
    async stop() {
      await proc.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(storeDir, { recursive: true, force: true });
    },
  };
  return platform;
}

/** VmRSS from /proc/<pid>/status, in KiB. */
export function rssKiBOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/**
 * CPU seconds used so far by a process: its main thread, and all its threads (from /proc; clock
 * ticks of 1/100 s); and the seconds its main thread spent runnable but waiting for a CPU
 * (`schedstat`; NaN where the kernel does not keep it).
 */
export function cpuOf(pid: number): { main: number; total: number; mainWaited: number } {
  const seconds = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime
  };
  let mainWaited = NaN;
  try {
    mainWaited = Number(fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
  } catch {
    // no schedstat
  }
  return { main: seconds(fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')), total: seconds(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')), mainWaited };
}

/** CPU seconds of each thread of a process, by thread id (Linux): where a run's CPU went. */
export function cpuByThread(pid: number): Map<number, { user: number; sys: number }> {
  const out = new Map<number, { user: number; sys: number }>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), { user: Number(fields[11]) / 100, sys: Number(fields[12]) / 100 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export { inParallel } from '../../src/common/in-parallel';
