import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { sha256Hex } from '../../../test/support/registry-fixtures';
import { useTempDir } from '../../../test/support/temp-dir';
import { LocalModelStore, MIN_FREE_BYTES } from './local-model-store';

const HOUR = 60 * 60 * 1000;

describe('LocalModelStore', () => {
  const tempDir = useTempDir('mms-store-');
  let store: LocalModelStore;
  beforeEach(async () => {
    store = new LocalModelStore(tempDir());
    await store.init();
  });

  const filesIn = (sub: 'sha256' | 'tmp') => fs.readdirSync(path.join(tempDir(), sub)).sort();
  const blobPath = (sha: string) => path.join(tempDir(), 'sha256', sha);
  const stageBytes = (...chunks: string[]) => store.stage(Readable.from(chunks.map((c) => Buffer.from(c))));
  const ageFile = (file: string, ms: number) => {
    const then = new Date(Date.now() - ms);
    fs.utimesSync(file, then, then);
  };
  /** A committed blob with the given content, aged as asked. */
  const storeBlob = async (content: string, ageMs = 0) => {
    const staged = await stageBytes(content);
    await store.commit(staged.path, staged.sha256);
    if (ageMs) ageFile(blobPath(staged.sha256), ageMs);
    return staged.sha256;
  };

  describe('stage', () => {
    it('makes its folders again when the store was deleted while the service ran, so uploads go on', async () => {
      fs.rmSync(tempDir(), { recursive: true, force: true });
      const sha = await storeBlob('after the store went away');
      expect(fs.readFileSync(blobPath(sha), 'utf8')).toBe('after the store went away');
      expect(filesIn('tmp')).toEqual([]);
    });

    it('commits into a blob folder deleted between staging and commit', async () => {
      const staged = await stageBytes('staged, then sha256/ removed');
      fs.rmSync(path.join(tempDir(), 'sha256'), { recursive: true, force: true });
      await store.commit(staged.path, staged.sha256);
      expect(filesIn('sha256')).toEqual([staged.sha256]);
    });

    it('streams into a staging file, hashing and counting on the way', async () => {
      const staged = await stageBytes('onnx ', 'model ', 'bytes');
      expect(staged).toEqual({ path: expect.stringMatching(/\.part$/), sha256: sha256Hex('onnx model bytes'), sizeBytes: 16 });
      expect(path.dirname(staged.path)).toBe(path.join(tempDir(), 'tmp'));
      expect(fs.readFileSync(staged.path, 'utf8')).toBe('onnx model bytes');
      expect(filesIn('sha256')).toEqual([]);
    });

    it('hashes an empty stream as empty', async () => {
      expect(await stageBytes()).toMatchObject({ sha256: sha256Hex(''), sizeBytes: 0 });
    });

    it('gives concurrent uploads of the same bytes their own staging files', async () => {
      const [a, b] = await Promise.all([stageBytes('same'), stageBytes('same')]);
      expect(a.path).not.toBe(b.path);
      expect(a.sha256).toBe(b.sha256);
    });

    it('rethrows a failing source and leaves no staging file', async () => {
      const failing = new Readable({
        read() {
          this.push(Buffer.from('half an upload'));
          this.destroy(new Error('client went away'));
        },
      });
      await expect(store.stage(failing)).rejects.toThrow('client went away');
      expect(filesIn('tmp')).toEqual([]);
    });
  });

  describe('commit', () => {
    it('moves the staged file to its content address', async () => {
      const staged = await stageBytes('model');
      await store.commit(staged.path, staged.sha256);
      expect(fs.existsSync(staged.path)).toBe(false);
      expect(fs.readFileSync(blobPath(staged.sha256), 'utf8')).toBe('model');
      expect(await store.has(staged.sha256)).toBe(true);
      expect(await store.localPath(staged.sha256)).toBe(blobPath(staged.sha256));
    });

    it('is idempotent: identical content is stored once and the blob is touched so a sweep spares it', async () => {
      const sha = await storeBlob('model', 2 * HOUR);
      const again = await stageBytes('model');
      await store.commit(again.path, again.sha256);
      expect(filesIn('sha256')).toEqual([sha]);
      expect(filesIn('tmp')).toEqual([]);
      expect(await store.sweep(async () => false, HOUR)).toBe(0);
      expect(await store.has(sha)).toBe(true);
    });

    it('replaces a stored copy that no longer has its digest (damaged since) with the one committed', async () => {
      const sha = await storeBlob('model');
      fs.writeFileSync(blobPath(sha), 'modeI'); // one byte changed on disk
      const again = await stageBytes('model');
      await store.commit(again.path, again.sha256);
      expect(fs.readFileSync(blobPath(sha), 'utf8')).toBe('model');
      expect(filesIn('tmp')).toEqual([]);
    });

    it.each(['../escape', 'ABC', 'f'.repeat(63)])('refuses %j as a digest', async (digest) => {
      const staged = await stageBytes('model');
      await expect(store.commit(staged.path, digest)).rejects.toThrow('not a sha256 digest');
      await expect(store.localPath(digest)).rejects.toThrow('not a sha256 digest');
      expect(await store.has(digest)).toBe(false);
      expect(filesIn('sha256')).toEqual([]);
    });
  });

  it('discards a staged file, and a missing one quietly', async () => {
    const staged = await stageBytes('model');
    await store.discard(staged.path);
    await store.discard(staged.path);
    expect(filesIn('tmp')).toEqual([]);
  });

  it('is writable once initialised, not before', async () => {
    expect(await store.isWritable()).toBe(true);
    expect(await new LocalModelStore(path.join(tempDir(), 'never-initialised')).isWritable()).toBe(false);
  });

  it('is not writable on a full disk (below MIN_FREE_BYTES free)', async () => {
    class StoreWithFree extends LocalModelStore {
      constructor(root: string, private readonly free: number) {
        super(root);
      }
      protected override async freeBytes(): Promise<number> {
        return this.free;
      }
    }
    for (const [free, writable] of [[0, false], [MIN_FREE_BYTES - 1, false], [MIN_FREE_BYTES, true]] as const) {
      const full = new StoreWithFree(tempDir(), free);
      await full.init();
      expect([free, await full.isWritable()]).toEqual([free, writable]);
    }
  });

  describe('sweep', () => {
    it('removes old unreferenced blobs only, and counts them', async () => {
      const oldUnreferenced = await storeBlob('old, unreferenced', 2 * HOUR);
      const oldReferenced = await storeBlob('old, referenced', 2 * HOUR);
      const youngUnreferenced = await storeBlob('young, unreferenced');
      const asked: string[] = [];
      const removed = await store.sweep(async (sha) => {
        asked.push(sha);
        return sha === oldReferenced;
      }, HOUR);
      expect(removed).toBe(1);
      expect(filesIn('sha256')).toEqual([oldReferenced, youngUnreferenced].sort());
      expect(asked.sort()).toEqual([oldUnreferenced, oldReferenced].sort());
    });

    it('leaves files that are not blobs alone', async () => {
      const stray = path.join(tempDir(), 'sha256', 'README');
      fs.writeFileSync(stray, 'not a blob');
      ageFile(stray, 2 * HOUR);
      expect(await store.sweep(async () => false, HOUR)).toBe(0);
      expect(fs.existsSync(stray)).toBe(true);
    });

    it('removes staging files of uploads that died long ago, not of uploads in progress', async () => {
      const dead = await stageBytes('abandoned');
      ageFile(dead.path, 2 * HOUR);
      const live = await stageBytes('in progress');
      await store.sweep(async () => false, HOUR);
      expect(filesIn('tmp')).toEqual([path.basename(live.path)]);
    });
  });
});
