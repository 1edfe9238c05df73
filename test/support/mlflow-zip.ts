import { ZipFile } from 'yazl';

export interface ZipEntry {
  name: string;
  data: Buffer | string;
  /** Unix mode, e.g. 0o120777 for a symbolic link. */
  mode?: number;
}

/** Builds a zip in memory. */
export function buildZip(entries: ZipEntry[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const e of entries) zip.addBuffer(Buffer.from(e.data), e.name, e.mode ? { mode: e.mode } : {});
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** The lines of an MLmodel file as mlflow.onnx.save_model writes them, up to its signature; `data` is the ONNX file. */
export function mlmodelHead(data = 'model.onnx'): string[] {
  return [
    'artifact_path: model',
    'flavors:',
    '  onnx:',
    '    code: null',
    `    data: ${data}`,
    '    onnx_version: 1.16.0',
    '    providers: [CPUExecutionProvider]',
    '  python_function:',
    `    data: ${data}`,
    '    env: {conda: conda.yaml, virtualenv: python_env.yaml}',
    '    loader_module: mlflow.onnx',
    '    python_version: 3.11.7',
    'mlflow_version: 2.17.0',
    'model_uuid: 5f0c6a2d2f7e4d0e9a1b6c3d4e5f6a7b',
    'run_id: 0123456789abcdef',
  ];
}

/** An MLflow model directory as `mlflow.onnx.save_model` writes it, zipped (optionally inside a folder). */
export function mlflowZip(
  onnx: Buffer,
  options: { folder?: string; dataPath?: string; onnxEntry?: string; extra?: ZipEntry[] } = {},
): Promise<Buffer> {
  const prefix = options.folder ? `${options.folder}/` : '';
  const data = options.dataPath ?? 'model.onnx';
  const mlmodel = [
    ...mlmodelHead(data),
    'signature:',
    `  inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 6]}}]'`,
    `  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 1]}}]'`,
    'utc_time_created: "2026-11-24 02:00:00.000000"',
  ].join('\n');
  return buildZip([
    { name: `${prefix}MLmodel`, data: mlmodel },
    { name: options.onnxEntry ?? `${prefix}${data}`, data: onnx },
    { name: `${prefix}conda.yaml`, data: 'name: mlflow-env\n' },
    ...(options.extra ?? []),
  ]);
}

/**
 * yazl refuses unsafe names, so an attacker's archive is made by writing a harmless name of
 * the same length and patching the bytes (local header and central directory alike).
 */
export function patchEntryName(zip: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('names must have equal length');
  const out = Buffer.from(zip);
  const needle = Buffer.from(from);
  let at = out.indexOf(needle);
  if (at < 0) throw new Error(`${from} not in zip`);
  while (at >= 0) {
    out.write(to, at, 'latin1');
    at = out.indexOf(needle, at + 1);
  }
  return out;
}

/**
 * Rewrites the uncompressed size the central directory declares for one entry (what zip
 * readers trust before inflating), to make an archive that lies about its contents.
 */
export function patchDeclaredSize(zip: Buffer, entryName: string, declaredSize: number): Buffer {
  const out = Buffer.from(zip);
  const centralHeader = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
  for (let at = out.indexOf(centralHeader); at >= 0; at = out.indexOf(centralHeader, at + 4)) {
    const nameLength = out.readUInt16LE(at + 28);
    if (out.toString('latin1', at + 46, at + 46 + nameLength) === entryName) {
      out.writeUInt32LE(declaredSize, at + 24);
      return out;
    }
  }
  throw new Error(`${entryName} not in the central directory`);
}
