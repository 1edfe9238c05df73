import { Injectable } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuthContext } from '../auth/auth-context';
import type { TensorSpec } from '../registry/artifact/artifact.types';
import { ALIAS_NAME, asVersionNumber, VERSION_RANGE } from '../registry/names';
import { MirroredExecutor } from './mirrored-executor.service';
import { ModelResolver } from './model-resolver.service';
import { asObject, parseModelName } from './predict-request';
import type { ServableModel, ServableVersion } from './servable';
import { SessionCache } from './session-cache';
import { invalidInput, invalidRequest } from './serving.error';
import { checkSymbolicDims, decodeShaped, dtypeOfOip, HostTensor, oipDatatypeOf, toFlat } from './tensor-codec';

const SERVER_NAME = 'many-models-serving';

interface OipTensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/**
 * The Open Inference Protocol (KServe v2 / Triton) REST surface over the same resolver and
 * serving core as /v1/predict. Model versions are ours (1, 2, …); an alias such as
 * `production` is accepted where the protocol puts a version.
 */
@Injectable()
export class OipService {
  private readonly serverVersion = readServerVersion();

  constructor(
    private readonly resolver: ModelResolver,
    private readonly executor: MirroredExecutor,
    private readonly sessions: SessionCache,
  ) {}

  serverMetadata() {
    return { name: SERVER_NAME, version: this.serverVersion, extensions: [] as string[] };
  }

  async modelMetadata(ctx: AuthContext, name: string, rawVersion?: string) {
    const { model, version } = await this.target(ctx, name, rawVersion);
    return {
      name: model.name,
      versions: rawVersion === undefined ? [...model.versions.keys()].sort((a, b) => a - b).map(String) : [String(version.version)],
      platform: 'onnxruntime_onnx',
      inputs: version.signature.inputs.map(tensorMetadata),
      outputs: version.outputs.map(tensorMetadata),
    };
  }

  /** Ready = it resolves, would fit the cache and is not waiting out a failed load (loading is lazy, so "not loaded yet" is still ready). */
  async ready(ctx: AuthContext, name: string, rawVersion?: string) {
    const { model, version } = await this.target(ctx, name, rawVersion);
    const { loaded } = await this.sessions.readiness(version);
    return { name: model.name, version: String(version.version), ready: true, loaded };
  }

  /** `routingKey` (header x-routing-key) keeps a caller on one version of a traffic split, as on /v1/predict. */
  async infer(ctx: AuthContext, name: string, rawVersion: string | undefined, body: unknown, routingKey?: string) {
    const request = asObject(body, 'The request body');
    const id = requestId(request.id);
    const { model, version } = await this.target(ctx, name, rawVersion, routingKey);
    const feeds = decodeOipInputs(version, request.inputs);
    const wanted = requestedOutputs(version, request.outputs);
    // A version or alias in the path chose the version; only the rule's own traffic is mirrored.
    const outputs = await this.executor.run(ctx, version, feeds, rawVersion === undefined ? 'by-rule' : 'explicit');
    const answered = wanted === null ? outputs : wanted.map((name) => outputs.find((t) => t.name === name)!).filter(Boolean);
    return {
      model_name: model.name,
      model_version: String(version.version),
      ...(id === undefined ? {} : { id }),
      outputs: answered.map((t) => ({ name: t.name, datatype: oipDatatypeOf(t.type), shape: t.dims, data: toFlat(t) })),
    };
  }

  private async target(ctx: AuthContext, name: string, rawVersion?: string, routingKey?: string): Promise<{ model: ServableModel; version: ServableVersion }> {
    const model = await this.resolver.resolveModel(ctx, parseModelName(name));
    let selector: { version?: number; alias?: string; routingKey?: string } = { routingKey };
    if (rawVersion !== undefined) {
      const number = asVersionNumber(rawVersion);
      if (number !== undefined) selector = { version: number };
      else if (ALIAS_NAME.test(rawVersion)) selector = { alias: rawVersion };
      else throw invalidRequest(`Version '${rawVersion.slice(0, 64)}' must be a version number (${VERSION_RANGE}) or an alias`, { version: rawVersion.slice(0, 64) });
    }
    return { model, version: this.resolver.selectVersion(model, selector) };
  }
}

function tensorMetadata(spec: TensorSpec): OipTensorMetadata {
  return { name: spec.name, datatype: oipDatatypeOf(spec.type), shape: spec.shape.map((d) => (typeof d === 'number' ? d : -1)) };
}

/** `inputs: [{name, shape, datatype, data}]` → tensors in signature order, datatype checked against the model. */
export function decodeOipInputs(version: ServableVersion, rawInputs: unknown): HostTensor[] {
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) {
    throw invalidRequest('inputs must be a non-empty array of {"name", "shape", "datatype", "data"}', { field: 'inputs' });
  }
  const specs = version.signature.inputs;
  const given = new Map<string, Record<string, unknown>>();
  for (const raw of rawInputs) {
    const input = asObject(raw, 'inputs[]');
    if (typeof input.name !== 'string') throw invalidRequest('Every input needs a name', { field: 'inputs[].name' });
    if (given.has(input.name)) throw invalidInput(`Input '${input.name}' is given twice`, { input: input.name });
    if (!specs.some((s) => s.name === input.name)) {
      throw invalidInput(`Unknown input '${input.name}': the model's inputs are ${specs.map((s) => `'${s.name}'`).join(', ')}`, {
        input: input.name,
        expected: specs.map((s) => s.name),
      });
    }
    given.set(input.name, input);
  }
  const feeds = specs.map((spec) => {
    const input = given.get(spec.name);
    if (!input) {
      throw invalidInput(`Missing input '${spec.name}' (${oipDatatypeOf(spec.type)}, shape ${JSON.stringify(tensorMetadata(spec).shape)})`, {
        input: spec.name,
        expected: tensorMetadata(spec),
      });
    }
    const datatype = input.datatype;
    if (typeof datatype !== 'string' || dtypeOfOip(datatype) !== spec.type) {
      const got = datatype === undefined || datatype === null ? 'no datatype (it is required)' : `datatype ${JSON.stringify(datatype)}`;
      throw invalidInput(`Input '${spec.name}' is ${oipDatatypeOf(spec.type)} in the model, got ${got}`, {
        input: spec.name,
        expected: { datatype: oipDatatypeOf(spec.type) },
        got: { datatype: datatype ?? null },
      });
    }
    return decodeShaped(spec, input.shape, input.data);
  });
  checkSymbolicDims(specs, feeds);
  return feeds;
}

/** The request's `id`, echoed in the answer: a string in the protocol. */
function requestId(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw invalidRequest(`id must be a string, got ${Array.isArray(raw) ? 'an array' : `a ${typeof raw}`}`, { field: 'id' });
  return raw;
}

/** The outputs asked for, in the order asked; null for all (no `outputs`, or an empty list, as Triton takes it). */
function requestedOutputs(version: ServableVersion, raw: unknown): string[] | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) throw invalidRequest('outputs must be an array of {"name"}', { field: 'outputs' });
  if (raw.length === 0) return null;
  const wanted = new Set<string>();
  for (const [i, item] of raw.entries()) {
    const name = asObject(item, `outputs[${i}]`).name;
    if (typeof name !== 'string') throw invalidRequest(`outputs[${i}] needs a name (a string): the model's outputs are ${version.outputs.map((o) => `'${o.name}'`).join(', ')}`, { field: `outputs[${i}].name` });
    if (!version.outputs.some((o) => o.name === name)) {
      throw invalidRequest(`Unknown output '${name}': the model's outputs are ${version.outputs.map((o) => `'${o.name}'`).join(', ')}`, {
        field: 'outputs',
        expected: version.outputs.map((o) => o.name),
      });
    }
    wanted.add(name);
  }
  return [...wanted];
}

function readServerVersion(): string {
  // dist/src/serving → repo root, or src/serving when run from sources.
  for (const up of ['../../..', '../..']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}
