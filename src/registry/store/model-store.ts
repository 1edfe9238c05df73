import { Readable } from 'node:stream';

/** A file written into the store's staging area; it becomes visible only through `commit`. */
export interface StagedFile {
  readonly path: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/**
 * Where artifacts live, content-addressed by SHA-256 so identical artifacts are stored once.
 * The port exists because object storage is a real second implementation.
 */
export abstract class ModelStore {
  /**
   * Streams bytes into a staging file inside the store (same filesystem, so commit is a
   * rename), hashing on the way. On a stream error the staging file is removed and the
   * error rethrown.
   */
  abstract stage(source: Readable): Promise<StagedFile>;
  /** Durably moves a finished staged file to its content address; idempotent. */
  abstract commit(stagedPath: string, sha256: string): Promise<void>;
  /** Removes a staged file that will not be committed. */
  abstract discard(stagedPath: string): Promise<void>;
  /** A local path the runtime can open. */
  abstract localPath(sha256: string): Promise<string>;
  abstract has(sha256: string): Promise<boolean>;
  /** True when the store accepts writes (readiness). */
  abstract isWritable(): Promise<boolean>;
  /** Deletes blobs no version references any more; returns how many went. */
  abstract sweep(isReferenced: (sha256: string) => Promise<boolean>, olderThanMs: number): Promise<number>;
}
