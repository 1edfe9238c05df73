import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as yauzl from 'yauzl';
import { parse as parseYaml } from 'yaml';
import { withoutServerPaths } from '../../common/server-paths';
import { storageRefusalOf } from '../../common/storage-refusal';
import { RegistryError, RegistryErrorCode } from '../registry.error';
import { ModelStore, StagedFile } from '../store/model-store';
import { ExternalDataError, ExternalDataTooLarge, inlineExternalData } from './onnx-external-data';

const MLMODEL_MAX_BYTES = 1024 * 1024;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

export interface MlflowModel {
  /** The ONNX file named by the `onnx` flavor, staged in the store. */
  onnx: StagedFile;
  /** What we keep of the MLmodel file: the onnx flavor, the signature, run and model ids. */
  metadata: Record<string, unknown>;
}

/**
 * Reads an MLflow model directory uploaded as a zip: finds `MLmodel`, checks that its
 * `onnx` flavor names a model file, and stages that file in the store. Any entry that would
 * land outside its folder (`../`, absolute paths, links) refuses the whole archive.
 */
export async function extractMlflowModel(zipPath: string, store: ModelStore, maxUnpackedBytes: number): Promise<MlflowModel> {
  const zip = await openZip(zipPath);
  try {
    const entries = await readEntries(zip);
    checkArchiveIsSafe(entries, maxUnpackedBytes);
    const mlmodelEntry = findMlmodel(entries);
    const root = path.posix.dirname(entryPath(mlmodelEntry));
    const mlmodel = parseMlmodel(await readSmallEntry(zip, mlmodelEntry));
    const onnxFlavor = mlmodel.flavors?.onnx;
    const dataPath = onnxFlavor?.data;
    if (!onnxFlavor || typeof dataPath !== 'string' || !dataPath) {
      const flavors = Object.keys(mlmodel.flavors ?? {});
      throw new RegistryError(RegistryErrorCode.MlmodelInvalid, 'The MLmodel file has no onnx flavor naming the model file', { flavors });
    }
    const onnxName = path.posix.normalize(path.posix.join(root, dataPath));
    if (!isInside(root, onnxName)) {
      throw new RegistryError(RegistryErrorCode.ArchiveUnsafe, 'The onnx flavor points outside the model directory', { data: dataPath });
    }
    const onnxEntry = entries.find((e) => entryPath(e) === onnxName);
    if (!onnxEntry) {
      throw new RegistryError(RegistryErrorCode.MlmodelInvalid, `The onnx flavor names '${dataPath}', which is not in the archive`, { data: dataPath });
    }
    // A zip whose entries lie about their sizes fails while streaming: bad input, not a 500.
    // A disk that refuses the write (full, read-only) is the server's, not the archive's: as is.
    const staged = await store.stage(await zip.openReadStreamPromise(onnxEntry)).catch((error: unknown) => {
      throw error instanceof RegistryError || storageRefusalOf(error) ? error : archiveError(error);
    });
    // One read per entry, however many spellings of its name ('w', './w', 'd/../w') the tensors use.
    const read = new Map<yauzl.Entry, Promise<Buffer>>();
    const onnx = await withExternalData(staged, store, maxUnpackedBytes, (location) => externalDataEntry(zip, entries, root, onnxName, location, read)).catch(async (error: unknown) => {
      await store.discard(staged.path);
      throw error;
    });
    return { onnx, metadata: keptMetadata(mlmodel) };
  } finally {
    zip.close();
  }
}

/**
 * The staged ONNX file made whole when it keeps tensors in files beside it, as mlflow.onnx saves
 * models by default (onnx-external-data.ts): the runtime loads a stored model from its bytes alone.
 */
async function withExternalData(staged: StagedFile, store: ModelStore, maxBytes: number, read: (location: string) => Promise<Buffer>): Promise<StagedFile> {
  let whole: Buffer | undefined;
  try {
    whole = await inlineExternalData(await readFile(staged.path), read, maxBytes);
  } catch (error) {
    if (error instanceof ExternalDataTooLarge) throw new RegistryError(RegistryErrorCode.ArtifactTooLarge, error.message, error.details);
    if (error instanceof ExternalDataError) throw new RegistryError(RegistryErrorCode.ArtifactInvalid, error.message, error.details);
    if (error instanceof RegistryError || storageRefusalOf(error)) throw error;
    return staged; // a wire format this reader does not follow: the runtime judges the file as it is
  }
  if (!whole) return staged;
  const made = await store.stage(Readable.from([whole]));
  await store.discard(staged.path);
  return made;
}

/** An external data file named by the ONNX model: relative to its folder, inside the model directory, in the archive. */
async function externalDataEntry(zip: yauzl.ZipFile, entries: yauzl.Entry[], root: string, onnxName: string, location: string, read: Map<yauzl.Entry, Promise<Buffer>>): Promise<Buffer> {
  const name = path.posix.normalize(path.posix.join(path.posix.dirname(onnxName), location));
  if (location.includes('\\') || path.posix.isAbsolute(location) || !isInside(root, name)) {
    throw new RegistryError(RegistryErrorCode.ArchiveUnsafe, `The ONNX model's external data '${location}' lies outside the model directory`, { location });
  }
  const entry = entries.find((e) => entryPath(e) === name);
  if (!entry) {
    throw new RegistryError(RegistryErrorCode.MlmodelInvalid, `The ONNX model keeps tensors in '${location}' beside it, which is not in the archive`, { location });
  }
  let bytes = read.get(entry);
  if (!bytes) read.set(entry, (bytes = readEntry(zip, entry)));
  return bytes;
}

interface MlmodelFile {
  flavors?: Record<string, Record<string, unknown> | undefined>;
  signature?: { inputs?: string; outputs?: string; params?: string };
  run_id?: string;
  model_uuid?: string;
  utc_time_created?: string;
}

async function openZip(zipPath: string): Promise<yauzl.ZipFile> {
  try {
    return await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false, validateEntrySizes: true });
  } catch (error) {
    throw archiveError(error);
  }
}

function readEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', (error) => reject(archiveError(error)));
    zip.readEntry();
  });
}

/** yauzl refuses `../` and absolute names itself: report those as unsafe, the rest as unreadable. */
function archiveError(error: unknown): RegistryError {
  const message = (error as Error).message ?? String(error);
  if (/invalid relative path|absolute path|invalid characters/i.test(message)) {
    return new RegistryError(RegistryErrorCode.ArchiveUnsafe, 'The archive has an entry that would land outside its folder', { reason: message });
  }
  return new RegistryError(RegistryErrorCode.ArtifactInvalid, 'The artifact is neither an ONNX model nor a readable zip archive', { reason: withoutServerPaths(message) });
}

function checkArchiveIsSafe(entries: yauzl.Entry[], maxUnpackedBytes: number): void {
  let total = 0;
  for (const entry of entries) {
    const name = entry.fileName;
    const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
    if (mode === S_IFLNK) {
      throw new RegistryError(RegistryErrorCode.ArchiveUnsafe, `The archive holds a symbolic link: ${name}`, { entry: name });
    }
    const normalized = path.posix.normalize(name);
    if (name.includes('\\') || name.includes('\0') || path.posix.isAbsolute(name) || /^[a-zA-Z]:/.test(name) || normalized.split('/').includes('..')) {
      throw new RegistryError(RegistryErrorCode.ArchiveUnsafe, `The archive entry '${name}' would land outside its folder`, { entry: name });
    }
    total += entry.uncompressedSize;
  }
  if (total > maxUnpackedBytes) {
    throw new RegistryError(RegistryErrorCode.ArtifactTooLarge, `The archive unpacks to ${total} bytes, more than the limit of ${maxUnpackedBytes}`, {
      limitBytes: maxUnpackedBytes,
    });
  }
}

/** Where an entry lands: `./MLmodel` (bsdtar's `tar -a -cf model.zip .`) is `MLmodel`, `m/./x` is `m/x`. */
function entryPath(entry: yauzl.Entry): string {
  return path.posix.normalize(entry.fileName);
}

/**
 * The shallowest `MLmodel` file marks the model directory (zips often wrap it in a folder). Two
 * at that depth (`a/MLmodel`, `b/MLmodel`: a zip of several models) name no one model: refused,
 * rather than registering whichever the archive happens to list first.
 */
function findMlmodel(entries: yauzl.Entry[]): yauzl.Entry {
  const depth = (e: yauzl.Entry) => entryPath(e).split('/').length;
  const candidates = entries.filter((e) => path.posix.basename(e.fileName) === 'MLmodel' && !e.fileName.endsWith('/')).sort((a, b) => depth(a) - depth(b));
  if (!candidates.length) {
    throw new RegistryError(RegistryErrorCode.MlmodelInvalid, 'The zip archive has no MLmodel file: upload an .onnx file or a zipped MLflow model directory');
  }
  const shallowest = candidates.filter((e) => depth(e) === depth(candidates[0]));
  if (shallowest.length > 1) {
    const files = shallowest.map(entryPath);
    throw new RegistryError(RegistryErrorCode.MlmodelInvalid, `The zip archive holds several MLmodel files at the same depth (${files.slice(0, 5).join(', ')}): zip one MLflow model directory`, { files: files.slice(0, 20) });
  }
  return candidates[0];
}

async function readSmallEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<string> {
  if (entry.uncompressedSize > MLMODEL_MAX_BYTES) {
    // Its signature is kept on the version and answered with it: a bound keeps that row and every listing small.
    throw new RegistryError(
      RegistryErrorCode.MlmodelInvalid,
      `The MLmodel file is ${entry.uncompressedSize} bytes, more than the ${MLMODEL_MAX_BYTES} (1 MiB) accepted: a signature of tens of thousands of columns does not fit; log the model with a tensor signature (one input of shape [-1, k]) instead`,
      { sizeBytes: entry.uncompressedSize, maxBytes: MLMODEL_MAX_BYTES },
    );
  }
  return (await readEntry(zip, entry)).toString('utf8');
}

async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
  } catch (error) {
    throw archiveError(error);
  }
  return Buffer.concat(chunks);
}

function parseMlmodel(text: string): MlmodelFile {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new RegistryError(RegistryErrorCode.MlmodelInvalid, 'The MLmodel file is not valid YAML', { reason: (error as Error).message });
  }
  if (!parsed || typeof parsed !== 'object') throw new RegistryError(RegistryErrorCode.MlmodelInvalid, 'The MLmodel file is empty');
  return parsed as MlmodelFile;
}

function keptMetadata(mlmodel: MlmodelFile): Record<string, unknown> {
  const parseJson = (text?: string) => {
    if (typeof text !== 'string') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  };
  return {
    flavor: mlmodel.flavors?.onnx,
    signature: mlmodel.signature
      ? { inputs: parseJson(mlmodel.signature.inputs), outputs: parseJson(mlmodel.signature.outputs) }
      : undefined,
    runId: mlmodel.run_id,
    modelUuid: mlmodel.model_uuid,
    utcTimeCreated: mlmodel.utc_time_created,
  };
}

function isInside(root: string, candidate: string): boolean {
  if (root === '.' || root === '') return !candidate.startsWith('../') && candidate !== '..' && !path.posix.isAbsolute(candidate);
  return candidate.startsWith(`${root}/`);
}
