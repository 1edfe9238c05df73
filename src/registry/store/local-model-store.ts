import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CommonError, CommonErrorCode } from '../../common/domain-error';
import { sha256OfFile } from '../../common/file-digest';
import { ModelStore, StagedFile } from './model-store';

/** Below this much free space the store counts as not writable (readiness). */
export const MIN_FREE_BYTES = 1024 * 1024;

const SHA256 = /^[0-9a-f]{64}$/;

/** The model store on a local (or mounted) filesystem: `<root>/sha256/<hash>`, `<root>/tmp/`. */
export class LocalModelStore extends ModelStore {
  private readonly blobDir: string;
  private readonly tmpDir: string;

  constructor(private readonly root: string) {
    super();
    this.blobDir = path.join(root, 'sha256');
    this.tmpDir = path.join(root, 'tmp');
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.blobDir, { recursive: true });
    await fsp.mkdir(this.tmpDir, { recursive: true });
  }

  async stage(source: Readable): Promise<StagedFile> {
    // Made again if it went away while the service ran (a store folder deleted by hand). At once,
    // not awaited: the source must be in the pipeline before it can fail (an archive entry's stream).
    try {
      ensureWritableDir(this.tmpDir);
    } catch (error) {
      source.destroy(); // never read: it must not fail later with no one listening
      throw error;
    }
    const file = path.join(this.tmpDir, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let sizeBytes = 0;
    // Hash and count on the way to disk: the artifact is never held in memory whole.
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        sizeBytes += chunk.length;
        done(null, chunk);
      },
    });
    const sink = fs.createWriteStream(file, { flags: 'wx' });
    try {
      await pipeline(source, meter, sink);
    } catch (error) {
      // The stream opens its file asynchronously and may create it after the pipeline failed:
      // remove it only once the stream has closed, or the half-written file would stay.
      if (!sink.closed) await new Promise<void>((closed) => sink.once('close', () => closed()));
      await fsp.rm(file, { force: true });
      throw error;
    }
    return { path: file, sha256: hash.digest('hex'), sizeBytes };
  }

  async commit(stagedPath: string, sha256: string): Promise<void> {
    assertSha(sha256);
    const target = this.blobPath(sha256);
    const handle = await fsp.open(stagedPath, 'r');
    try {
      await handle.sync(); // the bytes are on disk before the name points at them
    } finally {
      await handle.close();
    }
    if (await this.isIntact(target, sha256)) {
      // Stored already: keep the old blob, and touch it so a concurrent sweep spares it.
      const now = new Date();
      const touched = await fsp.utimes(target, now, now).then(
        () => true,
        () => false, // swept meanwhile: store this copy instead
      );
      if (touched) {
        await fsp.rm(stagedPath, { force: true });
        return;
      }
    }
    // New, or a stored copy that was damaged since (it no longer has its digest): this one replaces it.
    ensureWritableDir(this.blobDir);
    await fsp.rename(stagedPath, target);
    await syncDir(this.blobDir);
  }

  async discard(stagedPath: string): Promise<void> {
    await fsp.rm(stagedPath, { force: true });
  }

  async localPath(sha256: string): Promise<string> {
    assertSha(sha256);
    return this.blobPath(sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return SHA256.test(sha256) && exists(this.blobPath(sha256));
  }

  /** Writable and not full: a full disk refuses every upload as surely as a read-only one. */
  async isWritable(): Promise<boolean> {
    try {
      await fsp.access(this.blobDir, fs.constants.W_OK);
      await fsp.access(this.tmpDir, fs.constants.W_OK);
      return (await this.freeBytes()) >= MIN_FREE_BYTES;
    } catch {
      return false;
    }
  }

  /** Bytes an unprivileged writer may still use where uploads are staged. */
  protected async freeBytes(): Promise<number> {
    const { bavail, bsize } = await fsp.statfs(this.tmpDir);
    return bavail * bsize;
  }

  async sweep(isReferenced: (sha256: string) => Promise<boolean>, olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of await fsp.readdir(this.blobDir)) {
      const file = this.blobPath(name);
      const stat = await fsp.stat(file).catch(() => null);
      if (!stat || stat.mtimeMs > cutoff || !SHA256.test(name)) continue;
      if (await isReferenced(name)) continue;
      await fsp.rm(file, { force: true });
      removed++;
    }
    // Staged files older than the cutoff belong to uploads that died mid-way.
    for (const name of await fsp.readdir(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      const stat = await fsp.stat(file).catch(() => null);
      if (stat && stat.mtimeMs < cutoff) await fsp.rm(file, { force: true });
    }
    return removed;
  }

  /** The stored copy exists and still has its digest; false too when a sweep removes it while it is read. */
  private async isIntact(file: string, sha256: string): Promise<boolean> {
    return sha256OfFile(file).then(
      (actual) => actual === sha256,
      () => false,
    );
  }

  private blobPath(sha256: string): string {
    return path.join(this.blobDir, sha256);
  }
}

function assertSha(sha256: string): void {
  if (!SHA256.test(sha256)) throw new Error(`not a sha256 digest: ${sha256}`);
}

/**
 * The folder, made if missing (two system calls, once an upload); a store the service may not write (EACCES, EPERM) is refused as
 * storage that cannot be written (503), not as an unexplained 500: nothing was stored.
 */
function ensureWritableDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new CommonError(CommonErrorCode.StorageReadOnly, `The server cannot write its model store (${code} on ${path.basename(dir)}/); nothing was stored`);
    }
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  return fsp.access(file).then(
    () => true,
    () => false,
  );
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
