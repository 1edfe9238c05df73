import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { useTempDir } from '../../test/support/temp-dir';
import { sha256OfFile } from './file-digest';

describe('file digests', () => {
  const tempDir = useTempDir('mms-digest-');
  const digestOf = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it.each([
    ['empty', 0],
    ['small', 2000],
    ['over several 1 MiB chunks, the last one partial', 3 * 1024 * 1024 + 5],
  ])('hashes a %s file as its bytes', async (_label, size) => {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31) & 0xff;
    const file = path.join(tempDir(), `f${size}`);
    fs.writeFileSync(file, bytes);
    expect(await sha256OfFile(file)).toBe(digestOf(bytes));
  });

  it('fails for a missing file', async () => {
    const missing = path.join(tempDir(), 'missing');
    await expect(sha256OfFile(missing)).rejects.toThrow('ENOENT');
  });
});
