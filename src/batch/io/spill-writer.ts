import * as fsp from 'node:fs/promises';

/** A file's first chunk is small (a job may have many tiny partitions), later ones larger. */
const FIRST_CHUNK_BYTES = 1024;
const CHUNK_BYTES = 16 * 1024;
/** UTF-8 needs at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;
/** Files being written at once: each write waits on the disk, not on this thread. */
const WRITE_CONCURRENCY = 32;

interface Pending {
  file: string;
  chunks: Buffer[];
  /** Bytes used in the last chunk. */
  used: number;
  /** Bytes held by all chunks (allocated, not only used). */
  held: number;
}

/**
 * Appends lines to many staging files (one per partition) while keeping memory bounded. Each
 * line is encoded at once into its file's buffer chunks (off the JavaScript heap: a million
 * buffered lines are not a million strings for the garbage collector). A file's chunks are
 * written when they pass `perFileBytes`; when all chunks together pass half of
 * `maxBufferedBytes`, every file's are written in the background while appending goes on, and
 * append() only makes the caller wait when the writes fall behind the whole bound. Writes to
 * one file happen in the order of the appends.
 */
export class SpillWriter {
  private readonly pending = new Map<string, Pending>();
  /** Bytes buffered, including those handed to writes not finished yet. */
  private total = 0;
  /** Per file, its last write (the next one starts after it). */
  private readonly writes = new Map<string, Promise<void>>();
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private background: Promise<void> | null = null;
  private failure: unknown = null;
  private readonly writtenFiles = new Set<string>();
  private reserved: Pending | null = null;

  constructor(
    private readonly perFileBytes = 1024 * 1024,
    private readonly maxBufferedBytes = 64 * 1024 * 1024,
  ) {}

  /** Buffers a line; answers a promise only when the caller must wait for writes (await it then). */
  append(file: string, line: string): Promise<void> | undefined {
    return this.appendWith(file, line.length * MAX_UTF8_PER_UNIT, (buffer, at) => at + buffer.write(line, at));
  }

  /**
   * Buffers at most `maxBytes` that `fill` writes into `buffer` from `at`, answering where it
   * stopped (for bytes copied as they are, without a string in between).
   */
  appendWith(file: string, maxBytes: number, fill: (buffer: Buffer, at: number) => number): Promise<void> | undefined {
    const room = this.reserve(file, maxBytes);
    return this.commit(fill(room.buffer, room.at));
  }

  /**
   * Room for at most `maxBytes` in the file's buffer: write them into `buffer` from `at`, then
   * call commit() with where they end (the allocation-free form of appendWith, for hot loops).
   */
  reserve(file: string, maxBytes: number): { buffer: Buffer; at: number } {
    if (this.failure) throw this.failure;
    let pending = this.pending.get(file);
    if (!pending) {
      pending = { file, chunks: [], used: 0, held: 0 };
      this.pending.set(file, pending);
    }
    this.reserved = pending;
    const last = pending.chunks[pending.chunks.length - 1];
    if (last && last.length - pending.used >= maxBytes) return { buffer: last, at: pending.used };
    const size = Math.max(pending.chunks.length ? CHUNK_BYTES : FIRST_CHUNK_BYTES, maxBytes);
    const chunk = Buffer.allocUnsafe(size);
    if (last) pending.chunks[pending.chunks.length - 1] = last.subarray(0, pending.used);
    pending.chunks.push(chunk);
    pending.used = 0;
    pending.held += size;
    this.total += size;
    return { buffer: chunk, at: 0 };
  }

  /** Ends what reserve() began; answers a promise only when the caller must wait for writes (await it then). */
  commit(end: number): Promise<void> | undefined {
    const pending = this.reserved!;
    this.reserved = null;
    pending.used = end;
    if (pending.held >= this.perFileBytes) void this.writeOut(pending.file);
    if (this.total >= this.maxBufferedBytes / 2 && !this.background) {
      // A failure is kept in `failure` (append and flush throw it); the promise itself never rejects.
      this.background = this.flushAll()
        .catch(() => undefined)
        .finally(() => (this.background = null));
    }
    if (this.total >= this.maxBufferedBytes) return this.background ?? this.flushAll();
    return undefined;
  }

  /** Writes every buffer out; with `sync`, each file is also fsynced (before the plan is recorded). */
  async flush(sync = false): Promise<void> {
    await this.flushAll();
    if (sync) await Promise.all([...this.writtenFiles].map((file) => this.limited(() => syncFile(file))));
    if (this.failure) throw this.failure;
  }

  /** Waits until no write is pending or running, whatever their outcome (before giving up the staging files). */
  async settle(): Promise<void> {
    this.pending.clear();
    while (this.writes.size) await Promise.allSettled([...this.writes.values()]);
  }

  private async flushAll(): Promise<void> {
    await Promise.all([...this.pending.keys()].map((file) => this.writeOut(file)));
    await Promise.all([...this.writes.values()]);
    if (this.failure) throw this.failure;
  }

  /** Hands the file's buffered chunks to a write that starts after the file's previous one. */
  private writeOut(file: string): Promise<void> {
    const pending = this.pending.get(file);
    if (!pending) return this.writes.get(file) ?? Promise.resolve();
    this.pending.delete(file);
    const chunks = pending.chunks;
    chunks[chunks.length - 1] = chunks[chunks.length - 1].subarray(0, pending.used);
    const previous = this.writes.get(file) ?? Promise.resolve();
    const write = previous
      .then(() => this.limited(() => appendChunks(file, chunks)))
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.total -= pending.held;
        if (this.writes.get(file) === write) this.writes.delete(file);
      });
    this.writes.set(file, write);
    this.writtenFiles.add(file);
    return write;
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= WRITE_CONCURRENCY) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, if any.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

async function appendChunks(file: string, chunks: Buffer[]): Promise<void> {
  const handle = await fsp.open(file, 'a');
  try {
    const { bytesWritten } = await handle.writev(chunks);
    const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
    // A short write (rare on regular files): the rest in one go, which writeFile completes.
    if (bytesWritten < bytes) await handle.writeFile(Buffer.concat(chunks).subarray(bytesWritten));
  } finally {
    await handle.close();
  }
}

async function syncFile(file: string): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
