import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { buildLinearModel } from '../../../test/fixtures/onnx-builder';
import { clientReason } from '../../common/server-paths';
import { RegistryError } from '../registry.error';
import { OnnxInspector } from './onnx-inspector';

/** The linear fixture stamped with another default-domain opset. */
function withOpset(version: number): Buffer {
  const model = onnx.ModelProto.decode(buildLinearModel({ weights: [1, 2], bias: 0 }).bytes);
  model.opsetImport = [{ domain: '', version }];
  return Buffer.from(onnx.ModelProto.encode(model).finish());
}

describe('why an upload does not load (details.reason)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'h29d-reason-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('names the opset onnxruntime supports for a model stamped with a newer one, not a cut-off sentence', async () => {
    const path = join(dir, 'opset99.onnx');
    await writeFile(path, withOpset(99));
    const error = await new OnnxInspector().inspect(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryError);
    const reason = (error as RegistryError).details.reason as string;
    // onnxruntime's C++ signature (~250 characters) used to count against the 500 kept, cutting the message before its point.
    expect(reason).toMatch(/Opset 99 is under development/);
    expect(reason).toMatch(/Current official support for domain ai\.onnx is till opset \d+\.$/);
    expect(reason).not.toMatch(/onnxruntime_src|<artifact>\/|std::/);
  });

  it('cuts after leaving out the source location', () => {
    const location = `/onnxruntime_src/onnxruntime/core/graph/model_load_utils.h:46 void f(const std::unordered_map<${'x'.repeat(400)}>&, int) `;
    expect(clientReason(`Load model from /srv/a.onnx failed:${location}the point.\nmore`)).toBe('Load model from <artifact> failed:the point.');
    expect(clientReason('y'.repeat(600))).toHaveLength(500);
  });
});
