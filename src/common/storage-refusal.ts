import { CommonError, CommonErrorCode } from './domain-error';

/**
 * A write the disk refused, by the file system (ENOSPC, EDQUOT, EROFS) or by PostgreSQL
 * (53100 disk_full; its own data directory, or the embedded one's): said as such, not as an
 * unexplained 500 nor as the caller's fault. Uploads, registrations and batch outputs are
 * atomic, so nothing was stored. Null for any other error.
 */
export function storageRefusalOf(error: unknown): CommonError | null {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.driverError?.code === 'string' ? e.driverError.code : undefined;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === '53100') {
    return new CommonError(CommonErrorCode.StorageFull, 'The server has no storage space left (model store, data directory or database); nothing was stored. Try again once space is freed');
  }
  if (code === 'EROFS') return new CommonError(CommonErrorCode.StorageReadOnly, 'The server cannot write its storage (read-only); nothing was stored');
  return null;
}
