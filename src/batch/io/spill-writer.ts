import * as fsp from 'node:fs/promises';
import { inParallel } from '../../common/in-parallel';

/**
 * Appends lines to many staging files (one per partition) while keeping memory bounded:
 * each file's lines wait in a buffer, written out when that buffer or all buffers together
 * pass their limits. Rows are never held beyond `maxBufferedBytes` in total.
 */
export class SpillWriter {
  private readonly buffers = new Map<string, string[]>();
  private readonly sizes = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly perFileBytes = 1024 * 1024,
    private readonly maxBufferedBytes = 64 * 1024 * 1024,
  ) {}

  /** Buffers a line; answers a promise only when buffers were written out (await it then). */
  append(file: string, line: string): Promise<void> | undefined {
    let buffer = this.buffers.get(file);
    if (!buffer) {
      buffer = [];
      this.buffers.set(file, buffer);
    }
    buffer.push(line);
    const size = (this.sizes.get(file) ?? 0) + line.length;
    this.sizes.set(file, size);
    this.total += line.length;
    if (size >= this.perFileBytes) return this.flushFile(file);
    if (this.total >= this.maxBufferedBytes) return this.flush();
    return undefined;
  }

  /** Writes every buffer out; with `sync`, each file is also fsynced (before the plan is recorded). */
  async flush(sync = false): Promise<void> {
    // Many files at once: each write and fsync waits on the disk, not on this thread.
    await inParallel([...this.buffers.keys()], 32, (file) => this.flushFile(file, sync));
  }

  private async flushFile(file: string, sync = false): Promise<void> {
    const buffer = this.buffers.get(file);
    if (!buffer) return;
    this.buffers.delete(file);
    this.total -= this.sizes.get(file) ?? 0;
    this.sizes.delete(file);
    const handle = await fsp.open(file, 'a');
    try {
      await handle.writeFile(buffer.join(''));
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
