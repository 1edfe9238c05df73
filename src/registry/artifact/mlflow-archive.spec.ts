import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx as onnxProto } from 'onnx-proto';
import * as yauzl from 'yauzl';
import { defaultFixtures } from '../../../test/fixtures/onnx-builder';
import { buildZip, mlflowZip, patchDeclaredSize, patchEntryName, ZipEntry } from '../../../test/support/mlflow-zip';
import { sha256Hex } from '../../../test/support/registry-fixtures';
import { useTempDir } from '../../../test/support/temp-dir';
import { RegistryErrorCode } from '../registry.error';
import { LocalModelStore } from '../store/local-model-store';
import { extractMlflowModel } from './mlflow-archive';

/** An MLmodel whose onnx flavor names m/model.onnx. */
const MLMODEL_AT_ROOT = ['flavors:', '  onnx:', '    data: m/model.onnx', '  python_function:', '    loader_module: mlflow.onnx'].join('\n');

const LIMIT = 1024 * 1024;
const onnx = defaultFixtures().linear.bytes;

/** An MLmodel file with the given flavors block (YAML lines, indented by two). */
const mlmodel = (...flavorLines: string[]) => ['artifact_path: model', 'flavors:', ...flavorLines, 'run_id: r1'].join('\n');

describe('extractMlflowModel', () => {
  const tempDir = useTempDir('mms-mlflow-');
  let store: LocalModelStore;
  beforeEach(async () => {
    store = new LocalModelStore(path.join(tempDir(), 'store'));
    await store.init();
  });

  const stagedFiles = () => fs.readdirSync(path.join(tempDir(), 'store', 'tmp'));
  const extract = async (zip: Buffer | Promise<Buffer>, limit = LIMIT) => {
    const file = path.join(tempDir(), 'upload.zip');
    fs.writeFileSync(file, await zip);
    return extractMlflowModel(file, store, limit);
  };
  const withExtra = (...extra: ZipEntry[]) => mlflowZip(onnx, { extra });

  describe('accepts', () => {
    it('a model directory zipped inside a folder, staging the ONNX file the flavor names', async () => {
      const model = await extract(mlflowZip(onnx, { folder: 'model' }));
      expect(model.onnx).toMatchObject({ sha256: sha256Hex(onnx), sizeBytes: onnx.length });
      expect(fs.readFileSync(model.onnx.path).equals(onnx)).toBe(true);
      expect(stagedFiles()).toEqual([path.basename(model.onnx.path)]);
    });

    it('keeps the onnx flavor, the parsed signature, run and model ids', async () => {
      const { metadata } = await extract(mlflowZip(onnx));
      expect(metadata).toEqual({
        flavor: { code: null, data: 'model.onnx', onnx_version: '1.16.0', providers: ['CPUExecutionProvider'] },
        signature: {
          inputs: [{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 6] } }],
          outputs: [{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 1] } }],
        },
        runId: '0123456789abcdef',
        modelUuid: '5f0c6a2d2f7e4d0e9a1b6c3d4e5f6a7b',
        utcTimeCreated: '2026-11-24 02:00:00.000000',
      });
    });

    it("entries written with './' in their names (bsdtar's tar -a -cf model.zip .)", async () => {
      const zip = patchEntryName(patchEntryName(await buildZip([{ name: 'zzMLmodel', data: MLMODEL_AT_ROOT }, { name: 'm/zzmodel.onnx', data: onnx }]), 'zzMLmodel', './MLmodel'), 'm/zzmodel.onnx', 'm/./model.onnx');
      const model = await extract(zip);
      expect(model.onnx.sha256).toBe(sha256Hex(onnx));
    });

    // 'weights', './weights', '././weights'…: read into memory once each, a 64 KB zip of 64 MiB of zeros took 2 GB for 30 of them.
    it("reads an external data file once, however many spellings of its name the model's tensors use", async () => {
      const tensors = Array.from({ length: 8 }, (_, i) => ({
        name: `w${i}`,
        dims: [1],
        dataType: onnxProto.TensorProto.DataType.FLOAT,
        dataLocation: onnxProto.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: `${'./'.repeat(i)}weights` },
          { key: 'length', value: '4' },
        ],
      }));
      const model = Buffer.from(onnxProto.ModelProto.encode({ irVersion: 8, graph: { name: 'g', initializer: tensors } }).finish());
      const opened = jest.spyOn(yauzl.ZipFile.prototype, 'openReadStreamPromise');
      try {
        await extract(mlflowZip(model, { extra: [{ name: 'weights', data: Buffer.alloc(1024) }] }));
        expect(opened.mock.calls.map(([entry]) => entry.fileName)).toEqual(['MLmodel', 'model.onnx', 'weights']);
      } finally {
        opened.mockRestore();
      }
    });

    it('MLmodel at the root with a nested data path', async () => {
      const model = await extract(mlflowZip(onnx, { dataPath: 'data/model.onnx' }));
      expect(model.onnx.sha256).toBe(sha256Hex(onnx));
    });

    it('the shallowest MLmodel when a nested one exists too', async () => {
      const decoy = { name: 'model/nested/MLmodel', data: mlmodel('  onnx:', '    data: other.onnx') };
      const model = await extract(mlflowZip(onnx, { folder: 'model', extra: [decoy] }));
      expect(model.onnx.sha256).toBe(sha256Hex(onnx));
    });

    it('an MLmodel without a signature', async () => {
      const { metadata } = await extract(buildZip([{ name: 'MLmodel', data: mlmodel('  onnx:', '    data: model.onnx') }, { name: 'model.onnx', data: onnx }]));
      expect(metadata).toMatchObject({ flavor: { data: 'model.onnx' }, signature: undefined, runId: 'r1' });
    });
  });

  it("passes a disk's refusal (full, read-only) on as it is, not as a broken archive", async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    jest.spyOn(store, 'stage').mockRejectedValue(full);
    await expect(extract(mlflowZip(onnx))).rejects.toBe(full);
  });

  describe('refuses, leaving nothing staged,', () => {
    afterEach(() => {
      expect(stagedFiles()).toEqual([]);
    });

    const refusal = (code: RegistryErrorCode) => expect.objectContaining({ code });

    it.each([
      ['a parent-directory entry', async () => patchEntryName(await withExtra({ name: 'xx/evil.txt', data: 'x' }), 'xx/evil', '../evil')],
      ['an absolute entry', async () => patchEntryName(await withExtra({ name: 'xetc/passwd', data: 'x' }), 'xetc/passwd', '/etc/passwd')],
      ['a Windows-style parent-directory entry', async () => patchEntryName(await withExtra({ name: 'xx/evil.txt', data: 'x' }), 'xx/evil', '..\\evil')],
      ['a symbolic link', () => withExtra({ name: 'link', data: '/etc/passwd', mode: 0o120777 })],
      ['a flavor path escaping the folder', () => mlflowZip(onnx, { folder: 'model', dataPath: '../model.onnx', onnxEntry: 'model.onnx' })],
    ])('%s as ARCHIVE_UNSAFE', async (_what, build) => {
      await expect(extract(build())).rejects.toThrow(refusal(RegistryErrorCode.ArchiveUnsafe));
    });

    it.each([
      ['no MLmodel', async () => patchEntryName(await mlflowZip(onnx), 'MLmodel', 'README1')],
      ['no onnx flavor', () => buildZip([{ name: 'MLmodel', data: mlmodel('  sklearn:', '    pickled_model: model.pkl') }])],
      ['an onnx flavor without data', () => buildZip([{ name: 'MLmodel', data: mlmodel('  onnx:', '    onnx_version: 1.16.0') }])],
      ['a data path not in the archive', () => mlflowZip(onnx, { dataPath: 'model.onnx', onnxEntry: 'elsewhere.onnx' })],
      ['an MLmodel that is not YAML', () => buildZip([{ name: 'MLmodel', data: 'flavors: [unclosed' }])],
      ['an empty MLmodel', () => buildZip([{ name: 'MLmodel', data: '' }])],
      ['an MLmodel over 1 MiB', () => buildZip([{ name: 'MLmodel', data: `# ${'x'.repeat(LIMIT)}` }])],
      [
        'two MLmodel files at the same depth (a zip of two models)',
        () => mlflowZip(onnx, { folder: 'a', extra: [{ name: 'b/MLmodel', data: mlmodel('  onnx:', '    data: model.onnx') }, { name: 'b/model.onnx', data: onnx }] }),
      ],
    ])('%s as MLMODEL_INVALID', async (_what, build) => {
      await expect(extract(build(), 4 * LIMIT)).rejects.toThrow(refusal(RegistryErrorCode.MlmodelInvalid));
    });

    it('names the flavors it found when onnx is not one of them', async () => {
      const zip = buildZip([{ name: 'MLmodel', data: mlmodel('  sklearn:', '    x: 1', '  python_function:', '    x: 2') }]);
      await expect(extract(zip)).rejects.toMatchObject({ details: { flavors: ['sklearn', 'python_function'] } });
    });

    it('an archive that unpacks beyond the limit as ARTIFACT_TOO_LARGE, before unpacking anything', async () => {
      await expect(extract(mlflowZip(onnx), onnx.length)).rejects.toThrow(refusal(RegistryErrorCode.ArtifactTooLarge));
    });

    // Tensors may name the same external bytes any number of times: 64 KiB named 64 times is a 4 MiB model from a 1 MiB-limited archive.
    it('a model whose external data, made part of it, would outgrow the limit as ARTIFACT_TOO_LARGE, staging nothing', async () => {
      const tensors = Array.from({ length: 64 }, (_, i) => ({
        name: `w${i}`,
        dims: [16 * 1024],
        dataType: onnxProto.TensorProto.DataType.FLOAT,
        dataLocation: onnxProto.TensorProto.DataLocation.EXTERNAL,
        externalData: [{ key: 'location', value: 'weights' }],
      }));
      const model = Buffer.from(onnxProto.ModelProto.encode({ irVersion: 8, graph: { name: 'g', initializer: tensors } }).finish());
      await expect(extract(mlflowZip(model, { extra: [{ name: 'weights', data: Buffer.alloc(64 * 1024) }] }))).rejects.toThrow(refusal(RegistryErrorCode.ArtifactTooLarge));
      expect(stagedFiles()).toEqual([]);
    });

    it.each([
      ['not a zip at all', async () => Buffer.from('PK\x03\x04 but nothing else of a zip')],
      ['a truncated zip', async () => (await mlflowZip(onnx)).subarray(0, 200)],
    ])('%s as ARTIFACT_INVALID', async (_what, build) => {
      await expect(extract(build())).rejects.toThrow(refusal(RegistryErrorCode.ArtifactInvalid));
    });

    // The declared sizes pass the limit, the real bytes do not match them: bad input, so a 4xx, never a 500.
    it('an archive whose model file is larger than its directory declares, as a client error', async () => {
      const lying = patchDeclaredSize(await mlflowZip(onnx), 'model.onnx', 16);
      await expect(extract(lying)).rejects.toThrow(expect.objectContaining({ code: expect.stringMatching(/^(ARTIFACT_INVALID|ARTIFACT_TOO_LARGE)$/) }));
    });
  });
});
