import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { HASH_FILE } from '../../auth/root-credential';
import { SECRET_FILE } from '../../auth/token.service';
import { BatchError, BatchErrorCode } from '../batch.error';

/**
 * What one tenant's jobs may read of the data directory, which all tenants share: not the
 * platform's own files (the embedded database, its lock, the credential files), not other
 * tenants' job files (`batch/<tenant id>/…`), and not a top-level folder named after another
 * tenant — each tenant's inputs belong in a folder with its name. Everything else is shared.
 */
export interface InputScope {
  tenantId: string;
  otherTenants: ReadonlySet<string>;
  /** Directories of the platform's inside the data directory (the model store, when configured there). */
  privateDirs: readonly string[];
}

const PLATFORM_ENTRIES = new Set(['pg', 'LOCK', SECRET_FILE, HASH_FILE]);

/** One answer for every kind of off-limits file, so that it tells nothing of what is there. */
const OFF_LIMITS = "is off limits: the platform's own files and other tenants' job files cannot be read";

/**
 * Resolves a job's input URI inside the data directory. Refused (400): absolute paths, URL
 * schemes, `..` that leaves the directory, and anything whose real path (symlinks followed,
 * for the file and every directory above it) is outside the data directory's real path.
 */
export async function resolveInputPath(dataDir: string, uri: string, scope: InputScope): Promise<string> {
  const refuse = (why: string) => new BatchError(BatchErrorCode.InvalidInputUri, `input.uri '${uri.slice(0, 300)}' ${why}`, { field: 'input.uri' });
  // A folder named after another tenant answers as a missing file does: otherwise the answer
  // would tell which names are tenants.
  const notFound = () =>
    new BatchError(BatchErrorCode.InputNotFound, `input.uri '${uri.slice(0, 300)}' does not exist in the data directory (or is in a folder named after another tenant, which only that tenant reads)`, { field: 'input.uri' });
  const check = (file: string) => {
    const why = offLimits(root, file, scope);
    if (why === 'platform') throw refuse(OFF_LIMITS);
    if (why === 'other-tenant') throw notFound();
  };
  if (uri.includes('\0')) throw refuse('contains a NUL character');
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^[a-z]:[\\/]/i.test(uri)) throw refuse('must be a path relative to the data directory, not a URL');
  if (path.isAbsolute(uri) || /^[a-z]:[\\/]/i.test(uri)) throw refuse('must be relative to the data directory (MMS_DATA_DIR)');
  const root = await fsp.realpath(dataDir);
  const lexical = path.resolve(root, uri);
  if (!isInside(root, lexical)) throw refuse('resolves outside the data directory');
  // Before looking at the file, so that whether it exists there is not told either.
  check(lexical);
  let real: string;
  try {
    real = await fsp.realpath(lexical);
  } catch {
    // A dangling symlink pointing outside is still an escape, not a missing file.
    const link = await fsp.readlink(lexical).catch(() => null);
    if (link !== null && !isInside(root, path.resolve(path.dirname(lexical), link))) throw refuse('resolves outside the data directory');
    throw notFound();
  }
  if (!isInside(root, real)) throw refuse('resolves outside the data directory (through a symbolic link)');
  check(real);
  const stat = await fsp.stat(real);
  if (!stat.isFile()) throw refuse('is not a file');
  return real;
}

/**
 * Lexical check: the URI alone (no file needed), for schedules whose input appears later. The
 * platform's own files and other tenants' job files are refused here too, as a job reading them
 * would be (every run of such a schedule would fail); the rest is checked when a run resolves it.
 */
export function checkRelativeUri(uri: string, tenantId: string): void {
  const refuse = (why: string) => new BatchError(BatchErrorCode.InvalidInputUri, `input.uri '${uri.slice(0, 300)}' ${why}`, { field: 'input.uri' });
  if (uri.includes('\0')) throw refuse('contains a NUL character');
  if (path.isAbsolute(uri) || /^[a-z][a-z0-9+.-]*:/i.test(uri)) throw refuse('must be a path relative to the data directory (MMS_DATA_DIR)');
  const normal = path.posix.normalize(uri.replace(/\\/g, '/'));
  if (normal === '..' || normal.startsWith('../')) throw refuse('resolves outside the data directory');
  const [top, second] = normal.split('/');
  if (PLATFORM_ENTRIES.has(top) || (top === 'batch' && second !== tenantId)) throw refuse(OFF_LIMITS);
}

/** Why a tenant's job may not read this file: the platform's (its own files, every tenant's job files but its own), another tenant's folder, or null. */
function offLimits(root: string, file: string, scope: InputScope): 'platform' | 'other-tenant' | null {
  const [top, second] = path.relative(root, file).split(path.sep);
  // The platform's own places first: a tenant named like one of them must not change the answer.
  if (PLATFORM_ENTRIES.has(top) || (top === 'batch' && second !== scope.tenantId)) return 'platform';
  if (scope.privateDirs.some((dir) => dir === file || isInside(dir, file))) return 'platform';
  if (top === 'batch') return null;
  return scope.otherTenants.has(top) ? 'other-tenant' : null;
}

export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' ? false : !rel.startsWith('..') && !path.isAbsolute(rel);
}
