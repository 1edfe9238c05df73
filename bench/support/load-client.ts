import { fork } from 'node:child_process';
import * as net from 'node:net';
import { mulberry32 } from '../../src/common/seeded-random';

/**
 * A small closed-loop HTTP/1.1 load generator that runs in its own process (forked from the
 * benchmark), so that it never shares an event loop with the server it measures, nor with the
 * benchmark's own bookkeeping. Each of `connections` keep-alive sockets sends one request,
 * waits for its answer, and sends the next (optionally paced to a total rate).
 *
 * Why not autocannon or undici: both would be a new dependency, and on this 2-core machine the
 * client's own CPU per request comes out of the server's share; a raw socket writing prebuilt
 * request bytes and reading only the status line and Content-Length costs a few microseconds a
 * request. It also keeps every request's start time and latency, which the big-beside-small
 * benchmark needs to tell which small requests overlapped a big one.
 */

export interface LoadSpec {
  /** http://host:port */
  url: string;
  path: string;
  headers: Record<string, string>;
  /** Request bodies (JSON text); each request picks one as `pick` says. */
  bodies: string[];
  /** uniform: any body at random; zipf: body i with weight 1/(i+1)^s; cycle: in order per connection. */
  pick: { kind: 'uniform' } | { kind: 'zipf'; s: number } | { kind: 'cycle' };
  connections: number;
  durationMs: number;
  /** Requests in this first stretch are sent but not counted (JIT, connection setup). */
  warmupMs?: number;
  /** Total requests per second across connections (paced); unset = as fast as answers come. */
  ratePerSec?: number;
  seed?: number;
  /** Keep each counted request's start (epoch ms) and latency (ms). */
  keepSamples?: boolean;
}

export interface LoadResult {
  /** Requests answered in the counted window (any status). */
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  /** Socket errors and answers that could not be parsed. */
  errors: number;
  /** One answer body per status seen (trimmed), for error reports. */
  sampleBodies: Record<string, string>;
  samples?: { startedAt: number[]; latencyMs: number[] };
  /** The load generator's own CPU (user + system) per request answered, over the whole run. */
  clientCpuUsPerRequest: number;
}

/** Runs the load in a child process and resolves with what it measured. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    let done = false;
    child.once('message', (message: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
      done = true;
      child.disconnect();
      if (message.ok) resolve(message.result);
      else reject(new Error(`load client: ${message.error}`));
    });
    child.once('exit', (code) => {
      if (!done) reject(new Error(`load client exited with ${code} before answering`));
    });
    child.send(spec);
  });
}

// ---------------------------------------------------------------------------------------------
// The child
// ---------------------------------------------------------------------------------------------

const CRLF2 = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');

async function child(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const port = Number(url.port);
  const host = url.hostname;
  const head = Object.entries({ host: `${host}:${port}`, 'content-type': 'application/json', ...spec.headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const requests = spec.bodies.map((body) => {
    const bytes = Buffer.from(body);
    return Buffer.concat([Buffer.from(`POST ${spec.path} HTTP/1.1\r\n${head}content-length: ${bytes.length}\r\n\r\n`), bytes]);
  });
  const random = mulberry32(spec.seed ?? 1);
  const choose = chooser(spec, random);

  const warmupMs = spec.warmupMs ?? 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let answered = 0;
  const countFrom = t0 + warmupMs;
  const stopAt = countFrom + spec.durationMs;
  const latencies: number[] = [];
  const starts: number[] = [];
  const statuses: Record<string, number> = {};
  const sampleBodies: Record<string, string> = {};
  let errors = 0;
  const interval = spec.ratePerSec ? (1000 * spec.connections) / spec.ratePerSec : 0;

  const sockets: net.Socket[] = [];
  const connection = (index: number) =>
    new Promise<void>((resolve) => {
      const socket = net.connect({ host, port, noDelay: true });
      sockets.push(socket);
      let pending: Buffer | null = null;
      let sentAt = 0;
      let cursor = index;
      let nextSendAt = performance.now() + (interval * index) / spec.connections;
      const send = () => {
        const now = performance.now();
        if (now >= stopAt) {
          socket.end();
          return;
        }
        if (interval && now < nextSendAt) {
          setTimeout(send, nextSendAt - now);
          return;
        }
        nextSendAt = Math.max(nextSendAt + interval, now);
        const i = spec.pick.kind === 'cycle' ? cursor++ % requests.length : choose();
        sentAt = performance.now();
        socket.write(requests[i]);
      };
      const complete = (status: string, body: Buffer) => {
        const end = performance.now();
        answered++;
        if (sentAt >= countFrom && end <= stopAt) {
          latencies.push(end - sentAt);
          if (spec.keepSamples) starts.push(performance.timeOrigin + sentAt);
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (!(status in sampleBodies)) sampleBodies[status] = body.toString('utf8', 0, Math.min(body.length, 400));
        }
        send();
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        let buf: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
        pending = null;
        for (;;) {
          const headerEnd = buf.indexOf(CRLF2);
          if (headerEnd < 0) break;
          const header = buf.toString('latin1', 0, headerEnd);
          const status = header.slice(9, 12);
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(header);
          let end: number;
          if (length) {
            end = headerEnd + 4 + Number(length[1]);
            if (buf.length < end) break;
          } else if (/\r\ntransfer-encoding:\s*chunked/i.test(header)) {
            const at = buf.indexOf(CHUNKED_END, headerEnd + 2);
            if (at < 0) break;
            end = at + CHUNKED_END.length;
          } else {
            errors++;
            socket.destroy();
            return;
          }
          const body = buf.subarray(headerEnd + 4, end);
          buf = buf.subarray(end);
          complete(status, body);
        }
        if (buf.length) pending = Buffer.from(buf);
      });
      socket.on('error', () => {
        errors++;
      });
      socket.on('close', () => resolve());
    });

  // An answer that never comes must not hang the benchmark: 30 s after the end, give up on it.
  const giveUp = setTimeout(() => {
    for (const s of sockets) {
      if (s.destroyed) continue;
      errors++;
      s.destroy();
    }
  }, stopAt - performance.now() + 30_000);
  await Promise.all(Array.from({ length: spec.connections }, (_, i) => connection(i)));
  clearTimeout(giveUp);
  const cpu = process.cpuUsage(cpu0);
  const seconds = spec.durationMs / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : NaN);
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: q(0.5),
    p90Ms: q(0.9),
    p99Ms: q(0.99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
    statuses,
    errors,
    sampleBodies,
    clientCpuUsPerRequest: answered ? (cpu.user + cpu.system) / answered : NaN,
    ...(spec.keepSamples ? { samples: { startedAt: starts, latencyMs: latencies } } : {}),
  };
}

function chooser(spec: LoadSpec, random: () => number): () => number {
  const n = spec.bodies.length;
  if (spec.pick.kind !== 'zipf') return () => Math.floor(random() * n);
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, spec.pick.s);
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

if (process.argv.includes('--child') && process.send) {
  process.once('message', (spec: LoadSpec) => {
    child(spec).then(
      (result) => process.send!({ ok: true, result }),
      (error: unknown) => process.send!({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
}
