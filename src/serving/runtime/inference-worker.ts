/**
 * An inference worker thread: owns the onnxruntime sessions of the models assigned to it
 * and runs them off the HTTP event loop (session.run() blocks its thread for the whole call).
 * Merging micro-batched requests, splitting the results and cutting big inputs into chunks
 * happen here too, so the HTTP thread only decodes JSON and encodes the answer.
 */
import { setImmediate as yieldToMessages } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { Tensor } from 'onnxruntime-node';
import { lowerThisThreadPriority } from '../../common/thread-priority';
import { withoutRuntimeSourceLocations } from '../../common/server-paths';
import type { HostTensor } from '../tensor-codec';
import { openSession, WorkerSession } from './onnx-session';
import { decodeHalfFloats } from './half-floats';
import { chunkRowsFor, concatParts, concatTensors, rowsOf, sliceRows, splitOutputs } from './batch-plan';
import { checkRowIndependence, RowCheck } from './row-independence';
import { InferenceWorkerData, PartResult, ReadyMessage, RunJob, WireReader, WireWriter, WorkerReply, WorkerRequest } from './worker-protocol';

/** 256 KiB of float32 per chunk: about a millisecond of a small model's work, after which waiting calls get their turn. */
const CHUNK_ELEMENTS = 64 * 1024;

/** A session, and whether its model was seen to treat rows independently (see row-independence.ts). */
interface Loaded {
  session: WorkerSession;
  rows: RowCheck;
}

const sessions = new Map<string, Loaded>();
const port = parentPort!;

// When the cores are contended the HTTP thread, which every request passes through twice, runs
// first (MMS_WORKER_NICE; WorkerPoolRuntime says why).
lowerThisThreadPriority((workerData as InferenceWorkerData | undefined)?.nice ?? 0);

// Replies are sent together once the thread has done what was ready: one message, many answers.
let outbox: WorkerReply[] = [];
let flushScheduled = false;
function reply(message: WorkerReply): void {
  outbox.push(message);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}
function flush(): void {
  flushScheduled = false;
  const wire = new WireWriter();
  for (const r of outbox) wire.reply(r);
  outbox = [];
  port.postMessage({ type: 'replies', wire: wire.values }, [...wire.transfer]);
}

port.on('message', (message: WorkerRequest) => {
  switch (message.type) {
    case 'load':
      void load(message.id, message.key, message.path, message.sha256);
      break;
    case 'unload':
      void unload(message.key);
      break;
    case 'run':
      for (const jobs = new WireReader(message.wire); !jobs.done; ) void runJob(jobs.job()).then(reply);
      break;
  }
});

// onnxruntime is loaded (the imports above): the pool may now stop this thread safely.
port.postMessage({ type: 'ready' } satisfies ReadyMessage);

async function load(id: number, key: string, path: string, sha256: string | undefined): Promise<void> {
  try {
    let loaded = sessions.get(key);
    if (!loaded) {
      const session = await openSession(path, sha256);
      // A graph not seen to keep rows apart is never merged or chunked; one that is still has to pass the experiment.
      loaded = { session, rows: session.rowWise.rowWise ? 'undecided' : 'dependent' };
      sessions.set(key, loaded);
    }
    reply({ id, extraBytes: loaded.session.paddingBytes });
  } catch (error) {
    reply({ id, error: firstLine(error) });
  }
}

async function unload(key: string): Promise<void> {
  const loaded = sessions.get(key);
  if (!loaded) return;
  sessions.delete(key);
  await loaded.session.release().catch(() => undefined);
}

async function runJob(job: RunJob): Promise<WorkerReply> {
  const loaded = sessions.get(job.key);
  if (!loaded) return { id: job.id, error: 'the model is not loaded in this worker' };
  const { parts } = job;
  if (parts.length === 1) return { id: job.id, ...(await runPart(loaded, parts[0], job.batchable)) };
  if (loaded.rows !== 'independent' && (await rowsChecked(loaded, parts)) !== 'independent') {
    // Each request on its own, which is right whatever the model does; 'dependent' also stops the merging.
    return { id: job.id, parts: await runEach(loaded, parts), unbatchable: loaded.rows === 'dependent' || undefined };
  }
  const rows = parts.map((p) => rowsOf(p) ?? 0);
  try {
    const outputs = await run(loaded, concatParts(parts));
    const split = splitOutputs(outputs, rows);
    if (split) return { id: job.id, parts: split.map((o) => ({ outputs: o })) };
  } catch {
    // One bad part fails the merged call: run them one by one to tell which.
    return { id: job.id, parts: await runEach(loaded, parts) };
  }
  return { id: job.id, parts: await runEach(loaded, parts), unbatchable: true };
}

/** The session's row check, made now (once) if it is still undecided. */
async function rowsChecked(loaded: Loaded, parts: readonly HostTensor[][]): Promise<RowCheck> {
  if (loaded.rows === 'undecided') loaded.rows = await checkRowIndependence((feeds) => run(loaded, feeds), parts);
  return loaded.rows;
}

async function runEach(loaded: Loaded, parts: HostTensor[][]): Promise<PartResult[]> {
  const results: PartResult[] = [];
  for (const part of parts) {
    try {
      results.push({ outputs: await run(loaded, part) });
    } catch (error) {
      results.push({ error: firstLine(error) });
    }
  }
  return results;
}

/** One request; a big one in chunks, yielding between them so other models' calls interleave. */
async function runPart(loaded: Loaded, feeds: HostTensor[], batchable: boolean): Promise<{ parts: PartResult[]; unbatchable?: boolean }> {
  try {
    const rows = batchable ? rowsOf(feeds) : null;
    const chunkRows = rows === null ? 0 : chunkRowsFor(feeds, CHUNK_ELEMENTS);
    if (rows === null || chunkRows >= rows) return { parts: [{ outputs: await run(loaded, feeds) }] };
    if (loaded.rows !== 'independent' && (await rowsChecked(loaded, [feeds])) !== 'independent') {
      return { parts: [{ outputs: await run(loaded, feeds) }], unbatchable: loaded.rows === 'dependent' || undefined };
    }
    const chunks: HostTensor[][] = [];
    for (let start = 0; start < rows; start += chunkRows) {
      const end = Math.min(rows, start + chunkRows);
      const outputs = await run(loaded, sliceRows(feeds, start, end));
      if (outputs.some((o) => o.dims[0] !== end - start)) {
        // Not row-independent after all: one call over everything.
        return { parts: [{ outputs: await run(loaded, feeds) }], unbatchable: true };
      }
      chunks.push(outputs);
      await yieldToMessages();
    }
    return { parts: [{ outputs: chunks[0].map((first, i) => concatTensors(first, chunks.map((c) => c[i]))) }] };
  } catch (error) {
    return { parts: [{ error: firstLine(error) }] };
  }
}

async function run({ session }: Loaded, feeds: HostTensor[]): Promise<HostTensor[]> {
  const inputs: Record<string, Tensor> = {};
  for (const t of feeds) inputs[t.name] = new Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  const results = await session.run(inputs);
  return session.fetches.map((name) => {
    const t = results[name];
    return { name, type: t.type, dims: [...t.dims], data: decodeHalfFloats(t.type, t.data) ?? (t.data as HostTensor['data']) };
  });
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // Cut once onnxruntime's source location is gone: its C++ signature can fill the 500 characters.
  return withoutRuntimeSourceLocations(message).split('\n')[0].slice(0, 500);
}
