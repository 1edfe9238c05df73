import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { packedWeightPaddingBytes } from './packed-weights';
import { rowWiseVerdict, RowWiseVerdict } from './row-wise-graph';

/** An onnxruntime session as an inference worker uses it. */
export interface WorkerSession {
  /** The tensor outputs, in the model's order (non-tensor outputs, such as ZipMap's maps, are never fetched). */
  readonly fetches: readonly string[];
  /** True when runs call onnxruntime's native binding directly (see openSession). */
  readonly direct: boolean;
  /** Whether the graph keeps rows apart, read from the file (row-wise-graph.ts). */
  readonly rowWise: RowWiseVerdict;
  /** Memory it holds beyond twice its file: the padding of its packed matrix-multiply weights (packed-weights.ts). */
  readonly paddingBytes: number;
  /** The outputs named in `fetches`; a direct session answers at once, the fallback through a Promise. */
  run(feeds: Record<string, Tensor>): Record<string, Tensor> | Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/**
 * One thread per session: the workers already use every core between them. onnxruntime's own log
 * only at FATAL (4): a call it refuses (a client's input that passed the signature check) is
 * answered 422 with its reason, and would otherwise also print a line to the server's stderr,
 * outside the service's log, once per bad request.
 */
const SESSION_OPTIONS: InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 4 };

/**
 * Loads the model at `path` for this thread; with `sha256`, only once the file's bytes are found
 * to have that digest (see verifyArtifact).
 *
 * onnxruntime-node's `InferenceSession.run()` runs the model synchronously in its native binding,
 * but only after a `setImmediate`, and answers through a Promise: for a one-row call on a small
 * model that detour (an extra turn of the worker's event loop, a Promise, the outputs wrapped
 * again) costs more than the run itself. An inference worker owns its thread and runs one call
 * at a time anyway, so it calls the binding that `InferenceSession` wraps, with the same options,
 * feeds and fetches (three paired hot-benchmark runs: 1.02×, 1.04×, 1.17× the requests/s). The binding is not
 * onnxruntime-node's public API: where a version does not have it in this shape, sessions are
 * opened through `InferenceSession` as before (same answers, slower) and a warning says so once;
 * a unit test fails when the direct path is lost, so an upgrade does not lose it silently.
 */
export async function openSession(path: string, sha256?: string): Promise<WorkerSession> {
  // Synchronously from the read to loadModel: the bytes may be this thread's reused buffer (readArtifact).
  const bytes = readArtifact(path);
  if (sha256 !== undefined) verifyArtifact(bytes, sha256);
  const rowWise = rowWiseVerdict(bytes);
  const paddingBytes = packedWeightPaddingBytes(bytes);
  const native = nativeBinding();
  if (native) {
    native.initOrt();
    const session = new native.binding.InferenceSession();
    // From the bytes already read (hashed, their graph read): the file is read once. onnxruntime copies what it keeps.
    session.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, SESSION_OPTIONS);
    const fetches = tensorOutputs(session.outputMetadata);
    const wanted: Record<string, null> = Object.fromEntries(fetches.map((name) => [name, null]));
    const inputs = session.inputMetadata.map((m) => m.name);
    return {
      fetches,
      direct: true,
      rowWise,
      paddingBytes,
      run: (feeds) => {
        // InferenceSession checks this before the binding; onnxruntime itself would only fail in the node that needs it.
        for (const name of inputs) if (feeds[name] === undefined) throw new Error(`input '${name}' is missing in 'feeds'.`);
        return session.run(feeds, wanted, {});
      },
      release: async () => session.dispose(),
    };
  }
  const session = await InferenceSession.create(Buffer.from(bytes), SESSION_OPTIONS); // its own copy: the load goes on after an await
  const fetches = tensorOutputs(session.outputMetadata);
  return { fetches, direct: false, rowWise, paddingBytes, run: (feeds) => session.run(feeds, fetches), release: () => session.release() };
}

/**
 * Files up to this size are read into one buffer that the thread keeps and reuses. A fresh
 * buffer per load, freed once the session is made, left its room in the allocator's heap beside
 * the session's own memory: measured with onnxruntime-node 1.30, sessions of 0.5–1 MB networks
 * held 1.2–1.7× the memory of the same sessions loaded from one reused buffer (or by path).
 * Bigger files get a buffer of their own, which glibc maps apart and returns whole when freed.
 */
const REUSED_READ_MAX_BYTES = 16 * 1024 * 1024;
let reusedRead = Buffer.alloc(0);

/** The file's bytes; up to REUSED_READ_MAX_BYTES in the thread's reused buffer, valid until the next read. */
function readArtifact(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > REUSED_READ_MAX_BYTES) return readInto(fd, Buffer.allocUnsafeSlow(size));
    if (reusedRead.length < size) reusedRead = Buffer.allocUnsafeSlow(Math.min(REUSED_READ_MAX_BYTES, Math.max(size, 2 * reusedRead.length, 64 * 1024)));
    return readInto(fd, reusedRead.subarray(0, size));
  } finally {
    closeSync(fd);
  }
}

function readInto(fd: number, target: Buffer): Buffer {
  for (let read = 0; read < target.length; ) {
    const n = readSync(fd, target, read, target.length - read, read);
    if (n === 0) return target.subarray(0, read); // the file shrank while it was read: the hash (or the load) refuses it
    read += n;
  }
  return target;
}

/**
 * The model store is content-addressed: a file whose bytes no longer have its digest was damaged
 * (disk, a partial copy) or replaced after upload, and must not be served as the registered model.
 * The worker reads the file once (its thread a load blocks anyway) to hash it, read its graph and
 * load it; hashing runs at about 1 GB/s: tens of microseconds for a small model, a fraction of a
 * big one's load.
 */
function verifyArtifact(bytes: Buffer, sha256: string): void {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) {
    throw new Error(
      `the model store's copy of this artifact does not have its SHA-256 (${sha256.slice(0, 12)}…, read ${actual.slice(0, 12)}…): it was damaged or replaced after upload; uploading the same file again (for example as a new version) repairs it`,
    );
  }
}

function tensorOutputs(metadata: ReadonlyArray<{ name: string; isTensor: boolean }>): string[] {
  return metadata.filter((m) => m.isTensor).map((m) => m.name);
}

/** The part of onnxruntime-node's `dist/binding` module that `InferenceSession` wraps (onnxruntime-node 1.30). */
interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: InferenceSession.SessionOptions): void;
  readonly inputMetadata: ReadonlyArray<{ name: string }>;
  readonly outputMetadata: ReadonlyArray<{ name: string; isTensor: boolean }>;
  run(feeds: Record<string, Tensor>, fetches: Record<string, null>, options: InferenceSession.RunOptions): Record<string, Tensor>;
  dispose(): void;
}

let native: NativeBinding | null | undefined;

function nativeBinding(): NativeBinding | null {
  if (native !== undefined) return native;
  try {
    const found = require('onnxruntime-node/dist/binding') as Partial<NativeBinding>;
    native = typeof found.initOrt === 'function' && typeof found.binding?.InferenceSession === 'function' ? (found as NativeBinding) : null;
  } catch {
    native = null;
  }
  if (!native) process.emitWarning("onnxruntime-node's native binding is not where this version expected it: sessions run through InferenceSession (slower, same answers)");
  return native;
}
