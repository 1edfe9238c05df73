import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildLinearModel, buildMlpModel, buildTreeEnsembleModel } from '../../test/fixtures/onnx-builder';
import { artifactLocator, estimateSessionBytes, graphFootprintOf, graphKindOf } from './session-footprint';

describe('session footprint', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'footprint-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, bytes: Uint8Array) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  it('tells tree ensembles from tensor graphs by their op type', async () => {
    expect(await graphKindOf(write('linear.onnx', buildLinearModel({ weights: [1, 2], bias: 0 }).bytes))).toBe('tensors');
    expect(await graphKindOf(write('mlp.onnx', buildMlpModel({ nFeatures: 3, hidden: 8, seed: 1 }).bytes))).toBe('tensors');
    expect(await graphKindOf(write('trees.onnx', buildTreeEnsembleModel({ nFeatures: 3 }).bytes))).toBe('tree-ensemble');
  });

  it('finds the op type wherever a chunk boundary cuts it', async () => {
    const op = Buffer.from('TreeEnsembleRegressor');
    const chunk = 1024 * 1024;
    for (const cut of [1, 5, 11, 12]) {
      const bytes = Buffer.alloc(chunk + 100, 0x41);
      op.copy(bytes, chunk - cut);
      const file = write(`cut-${cut}.bin`, bytes);
      expect(await graphKindOf(file)).toBe('tree-ensemble');
      expect((await graphFootprintOf(file, bytes.length)).kind).toBe('tree-ensemble'); // read whole, searched chunk by chunk
    }
    expect((await graphFootprintOf(write('none-whole.bin', Buffer.alloc(2 * chunk + 5, 0x54)), 2 * chunk + 5)).kind).toBe('tensors');
    expect(await graphKindOf(write('none.bin', Buffer.alloc(2 * chunk + 5, 0x54)))).toBe('tensors');
    expect(await graphKindOf(write('empty.bin', Buffer.alloc(0)))).toBe('tensors');
  });

  it('estimates a tree ensemble at ten times its file, other graphs at twice, plus the fixed part', async () => {
    expect(estimateSessionBytes(1000)).toBe(128 * 1024 + 2000);
    expect(estimateSessionBytes(1000, 'tree-ensemble')).toBe(128 * 1024 + 10_000);
    const trees = write('located.onnx', buildTreeEnsembleModel({ nFeatures: 3 }).bytes);
    const locate = artifactLocator(async () => trees);
    expect(await locate({ modelSha256: 'abc' })).toEqual({ path: trees, bytes: fs.statSync(trees).size, kind: 'tree-ensemble', paddingBytes: 0, sha256: 'abc' });
  });

  it('reads the padding of packed weights from the file before any load, once per content', async () => {
    const mlp = write('padded.onnx', buildMlpModel({ nFeatures: 6, hidden: 100, seed: 1 }).bytes);
    let looked = 0;
    const locate = artifactLocator(async () => (looked++, mlp));
    // W1 [6, 100] → 112 columns, W2 [100, 1] → 16.
    const padding = (6 * 12 + 100 * 15) * 4;
    expect(await locate({ modelSha256: 'mlp' })).toMatchObject({ kind: 'tensors', paddingBytes: padding });
    fs.writeFileSync(mlp, 'replaced'); // found by content: not read again
    expect(await locate({ modelSha256: 'mlp' })).toMatchObject({ kind: 'tensors', paddingBytes: padding });
    expect(looked).toBe(2);
  });
});
