import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Lock tokens this process holds, to tell "locked by me" from "left by a dead process with my PID". */
const heldTokens = new Set<string>();

export class DataDirInUseError extends Error {}

/**
 * An exclusive, PID-stamped lock on a directory. PGlite has no lock of its own, so two
 * processes on one data directory would corrupt it; the second one must fail clearly.
 * A lock left by a dead process (SIGKILL, power loss) is taken over.
 */
export class DataDirLock {
  private constructor(
    private readonly file: string,
    private readonly token: string,
  ) {}

  static acquire(dir: string, purpose: string): DataDirLock {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'LOCK');
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = `${process.pid} ${randomUUID()}`;
      try {
        fs.writeFileSync(file, `${token}\n`, { flag: 'wx' });
        heldTokens.add(token);
        return new DataDirLock(file, token);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holderToken = fs.readFileSync(file, 'utf8').trim();
        const holder = Number.parseInt(holderToken, 10);
        // Our own PID without our token: a previous incarnation (containers reuse PIDs), so stale.
        const inUse = holder === process.pid ? heldTokens.has(holderToken) : holder > 0 && isAlive(holder);
        if (inUse) {
          throw new DataDirInUseError(
            `${purpose} in ${dir} is in use by process ${holder}. Stop that process, or give this one its own MMS_DATA_DIR ` +
              '(several replicas need an external Postgres: set DATABASE_URL).',
          );
        }
        fs.rmSync(file, { force: true }); // stale: its process is gone
      }
    }
    throw new DataDirInUseError(`could not lock ${dir}`);
  }

  release(): void {
    try {
      heldTokens.delete(this.token);
      if (fs.readFileSync(this.file, 'utf8').trim() === this.token) fs.rmSync(this.file, { force: true });
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
