import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deadPid } from '../../test/support/processes';
import { useTempDir } from '../../test/support/temp-dir';
import { DataDirInUseError, DataDirLock } from './data-dir-lock';

describe('DataDirLock', () => {
  const tempDir = useTempDir('mms-lock-');
  const lockFile = () => path.join(tempDir(), 'LOCK');
  const lockContent = () => fs.readFileSync(lockFile(), 'utf8');
  const leaveLock = (pid: number) => fs.writeFileSync(lockFile(), `${pid} ${randomUUID()}\n`);

  it('creates the directory and a LOCK stamped with this PID, removed on release', () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const lock = DataDirLock.acquire(dir, 'The embedded database');
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toMatch(new RegExp(`^${process.pid} [0-9a-f-]{36}\\n$`));
    lock.release();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });

  it('refuses a second holder in this process while the first holds it', () => {
    const lock = DataDirLock.acquire(tempDir(), 'The embedded database');
    try {
      expect(() => DataDirLock.acquire(tempDir(), 'The embedded database')).toThrow(DataDirInUseError);
    } finally {
      lock.release();
    }
    DataDirLock.acquire(tempDir(), 'The embedded database').release();
  });

  it('refuses a lock held by a live process, saying what to do and leaving the LOCK alone', () => {
    leaveLock(process.ppid);
    const before = lockContent();
    expect(() => DataDirLock.acquire(tempDir(), 'The embedded database')).toThrow(
      `The embedded database in ${tempDir()} is in use by process ${process.ppid}. Stop that process, or give this one its own MMS_DATA_DIR`,
    );
    expect(lockContent()).toBe(before);
  });

  it.each([
    ['a dead process', () => `${deadPid()} ${randomUUID()}\n`],
    ['an earlier process with this PID (containers reuse PIDs)', () => `${process.pid} ${randomUUID()}\n`],
  ])('takes over a LOCK left by %s', (_who, content) => {
    fs.writeFileSync(lockFile(), content());
    const lock = DataDirLock.acquire(tempDir(), 'The embedded database');
    expect(lockContent()).toMatch(new RegExp(`^${process.pid} `));
    lock.release();
    expect(fs.existsSync(lockFile())).toBe(false);
  });

  it('leaves alone, on release, a LOCK that is no longer its own', () => {
    const lock = DataDirLock.acquire(tempDir(), 'The embedded database');
    leaveLock(process.ppid);
    const other = lockContent();
    lock.release();
    expect(lockContent()).toBe(other);
  });

  it('tolerates a release after the LOCK is gone, and a double release', () => {
    const lock = DataDirLock.acquire(tempDir(), 'The embedded database');
    fs.rmSync(lockFile());
    expect(() => lock.release()).not.toThrow();
    expect(() => lock.release()).not.toThrow();
  });
});
