import * as fsp from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { packedWeightPaddingBytes } from './runtime/packed-weights';

/**
 * What a loaded session is estimated to hold, by the kind of graph. Measured here
 * (onnxruntime-node 1.30, process RSS growth per session created and run once on 1,000 rows):
 * - tensor graphs (linear models, MLPs: the weights are the file): ~126 KiB for a 412-byte
 *   linear model, ~1.6 MiB for an 0.8 MB MLP (2.0× its file), ~14 MiB for an 8 MB one (1.8×);
 * - tree ensembles (TreeEnsembleRegressor/Classifier): the runtime unpacks every node into its
 *   own structures, 7.3–8.5× the file over 4 KiB–2.4 MB files (100 to 25,000 nodes), once 11×.
 * So: a fixed 128 KiB plus twice the ONNX file, or ten times it for a tree ensemble.
 */
export const SESSION_OVERHEAD_BYTES = 128 * 1024;
export const SESSION_FILE_FACTOR = 2;
export const TREE_ENSEMBLE_FILE_FACTOR = 10;

export type GraphKind = 'tensors' | 'tree-ensemble';

export function estimateSessionBytes(fileBytes: number, kind: GraphKind = 'tensors'): number {
  return SESSION_OVERHEAD_BYTES + (kind === 'tree-ensemble' ? TREE_ENSEMBLE_FILE_FACTOR : SESSION_FILE_FACTOR) * fileBytes;
}

/** An op type as it appears in the file (a node's op_type string), shared by the ai.onnx.ml tree ops. */
const TREE_OP = Buffer.from('TreeEnsemble');
const CHUNK_BYTES = 1024 * 1024;

/**
 * Whether the ONNX file holds a tree ensemble: a byte search for the op type, read in chunks
 * so that a large model is never held in memory whole (the runtime reads the file next anyway).
 */
export async function graphKindOf(file: string): Promise<GraphKind> {
  return (await scanFile(file, null)).kind;
}

/**
 * Reads the file in chunks, searching each for a tree ensemble's op type as it comes (a search of
 * a whole big file at once would hold the HTTP thread for tens of milliseconds); into `whole`
 * when given (sized to the file), else through one chunk-sized buffer, stopping at the first find.
 */
async function scanFile(file: string, whole: Buffer | null): Promise<{ kind: GraphKind; read: number }> {
  const handle = await fsp.open(file, 'r');
  try {
    const chunk = whole ? null : Buffer.allocUnsafe(CHUNK_BYTES + TREE_OP.length);
    let kind: GraphKind = 'tensors';
    let kept = 0;
    let position = 0;
    for (;;) {
      const target = whole ?? chunk!;
      const at = whole ? position : kept;
      const { bytesRead } = await handle.read(target, at, Math.min(CHUNK_BYTES, target.length - at), position);
      if (bytesRead === 0) return { kind, read: position };
      // The op type may straddle two reads: search from the tail of the last one that could begin it.
      const from = Math.max(0, at - (TREE_OP.length - 1));
      if (kind === 'tensors' && target.subarray(from, at + bytesRead).indexOf(TREE_OP) >= 0) {
        kind = 'tree-ensemble';
        if (!whole) return { kind, read: position + bytesRead };
      }
      position += bytesRead;
      if (whole && position >= whole.length) return { kind, read: position };
      if (chunk) {
        kept = Math.min(TREE_OP.length - 1, at + bytesRead);
        chunk.copy(chunk, 0, at + bytesRead - kept, at + bytesRead);
      }
    }
  } finally {
    await handle.close();
  }
}

/** What a file's graph says of its session's size: its kind, and the padding of its packed weights when known. */
export interface GraphFootprint {
  kind: GraphKind;
  /** packed-weights.ts; undefined for a file too big to read whole here (the worker finds it as it loads). */
  paddingBytes?: number;
}

/**
 * Files up to this size are read whole (once per content) to find, besides their kind, the
 * padding of their packed weights before their first load, so that a model too big for the cache
 * only with it is refused (503) before its load evicts anything. Bigger ones are searched in
 * chunks, never held whole here; their padding is found by the worker as it loads them.
 */
const READ_WHOLE_MAX_BYTES = 64 * 1024 * 1024;

export async function graphFootprintOf(file: string, size: number): Promise<GraphFootprint> {
  if (size > READ_WHOLE_MAX_BYTES) return { kind: await graphKindOf(file) };
  const bytes = Buffer.allocUnsafe(size);
  const { kind, read } = await scanFile(file, bytes);
  // The graph's structure only (weights skipped by their length): about 1.5 ms for a 48 MB network.
  return { kind, paddingBytes: packedWeightPaddingBytes(bytes.subarray(0, read)) };
}

/**
 * The session cache's `locate`: where a version's ONNX file is, its size and what its graph says
 * of its session's size (known per file content, so each file is read once per process).
 */
export function artifactLocator(
  localPath: (sha256: string) => Promise<string>,
): (version: { modelSha256: string }) => Promise<{ path: string; bytes: number; kind: GraphKind; paddingBytes?: number; sha256: string }> {
  const footprints = new LRUCache<string, GraphFootprint>({ max: 100_000 });
  return async ({ modelSha256 }) => {
    const path = await localPath(modelSha256);
    const bytes = (await fsp.stat(path)).size;
    let footprint = footprints.get(modelSha256);
    if (!footprint) {
      footprint = await graphFootprintOf(path, bytes);
      footprints.set(modelSha256, footprint);
    }
    return { path, bytes, ...footprint, sha256: modelSha256 };
  };
}
