import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BatchError, BatchErrorCode } from '../batch.error';

/**
 * Resolves a job's input URI inside the data directory. Refused (400): absolute paths, URL
 * schemes, `..` that leaves the directory, and anything whose real path (symlinks followed,
 * for the file and every directory above it) is outside the data directory's real path.
 */
export async function resolveInputPath(dataDir: string, uri: string): Promise<string> {
  const refuse = (why: string) => new BatchError(BatchErrorCode.InvalidInputUri, `input.uri '${uri.slice(0, 300)}' ${why}`, { field: 'input.uri' });
  if (uri.includes('\0')) throw refuse('contains a NUL character');
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^[a-z]:[\\/]/i.test(uri)) throw refuse('must be a path relative to the data directory, not a URL');
  if (path.isAbsolute(uri) || /^[a-z]:[\\/]/i.test(uri)) throw refuse('must be relative to the data directory (MMS_DATA_DIR)');
  const root = await fsp.realpath(dataDir);
  const lexical = path.resolve(root, uri);
  if (!isInside(root, lexical)) throw refuse('resolves outside the data directory');
  let real: string;
  try {
    real = await fsp.realpath(lexical);
  } catch {
    // A dangling symlink pointing outside is still an escape, not a missing file.
    const link = await fsp.readlink(lexical).catch(() => null);
    if (link !== null && !isInside(root, path.resolve(path.dirname(lexical), link))) throw refuse('resolves outside the data directory');
    throw new BatchError(BatchErrorCode.InputNotFound, `input.uri '${uri.slice(0, 300)}' does not exist in the data directory`, { field: 'input.uri' });
  }
  if (!isInside(root, real)) throw refuse('resolves outside the data directory (through a symbolic link)');
  const stat = await fsp.stat(real);
  if (!stat.isFile()) throw refuse('is not a file');
  return real;
}

/** Lexical check: the URI alone (no file needed), for schedules whose input appears later. */
export function checkRelativeUri(uri: string): void {
  const refuse = (why: string) => new BatchError(BatchErrorCode.InvalidInputUri, `input.uri '${uri.slice(0, 300)}' ${why}`, { field: 'input.uri' });
  if (uri.includes('\0')) throw refuse('contains a NUL character');
  if (path.isAbsolute(uri) || /^[a-z][a-z0-9+.-]*:/i.test(uri)) throw refuse('must be a path relative to the data directory (MMS_DATA_DIR)');
  const normal = path.posix.normalize(uri.replace(/\\/g, '/'));
  if (normal === '..' || normal.startsWith('../')) throw refuse('resolves outside the data directory');
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' ? false : !rel.startsWith('..') && !path.isAbsolute(rel);
}
