import { Injectable } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuthContext } from '../auth/auth-context';
import { ALIAS_NAME, asVersionNumber, VERSION_RANGE } from '../registry/names';
import { LargeJsonBody } from './large-json-body';
import { MirroredExecutor } from './mirrored-executor.service';
import { ModelResolver } from './model-resolver.service';
import { decodeOipRequest, parseOipEnvelope, selectOutputs, tensorConfig, tensorMetadata } from './oip-payload';
import { parseModelName } from './predict-request';
import { JsonCodec } from './runtime/json-codec';
import type { ServableModel, ServableVersion } from './servable';
import type { RouteAnswer } from './route-answer';
import { SessionCache } from './session-cache';
import { invalidRequest } from './serving.error';
import type { HostTensor } from './tensor-codec';

const SERVER_NAME = 'many-models-serving';

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
    private readonly codec: JsonCodec,
  ) {}

  serverMetadata() {
    return { name: SERVER_NAME, version: this.serverVersion, extensions: ['model_configuration'] };
  }

  /**
   * Without a version in the path, the version an infer would get: under a traffic split, the one
   * the request's routing key (x-routing-key) lands on, so a client describes what it will call.
   */
  async modelMetadata(ctx: AuthContext, name: string, rawVersion?: string, routingKey?: string) {
    const { model, version } = await this.target(ctx, name, rawVersion, routingKey);
    return {
      name: model.name,
      versions: rawVersion === undefined ? [...model.versions.keys()].sort((a, b) => a - b).map(String) : [String(version.version)],
      platform: 'onnxruntime_onnx',
      inputs: version.signature.inputs.map(tensorMetadata),
      outputs: version.outputs.map(tensorMetadata),
    };
  }

  /**
   * Triton's model configuration extension (GET …/config), which Triton's own tools and clients
   * read (perf_analyzer, PyTriton's ModelClient): the model served as it is, with no server-side
   * batching of its own (`max_batch_size: 0`, so dims include the batch dimension, -1 where free).
   */
  async modelConfig(ctx: AuthContext, name: string, rawVersion?: string, routingKey?: string) {
    const { model, version } = await this.target(ctx, name, rawVersion, routingKey);
    return {
      name: model.name,
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 0,
      input: version.signature.inputs.map(tensorConfig),
      output: version.outputs.map(tensorConfig),
    };
  }

  /** Ready = it resolves, would fit the cache and is not waiting out a failed load (loading is lazy, so "not loaded yet" is still ready). */
  async ready(ctx: AuthContext, name: string, rawVersion?: string, routingKey?: string) {
    const { model, version } = await this.target(ctx, name, rawVersion, routingKey);
    const { loaded } = await this.sessions.readiness(version);
    return { name: model.name, version: String(version.version), ready: true, loaded };
  }

  /**
   * POST …/infer. `routingKey` (header x-routing-key) keeps a caller on one version of a traffic
   * split, as on /v1/predict. A big body (LargeJsonBody) is read off the HTTP thread.
   */
  infer(ctx: AuthContext, name: string, rawVersion: string | undefined, body: unknown, routingKey?: string): Promise<RouteAnswer> {
    return body instanceof LargeJsonBody ? this.inferLarge(ctx, name, rawVersion, body, routingKey) : this.inferBody(ctx, name, rawVersion, body, routingKey);
  }

  private async inferBody(ctx: AuthContext, name: string, rawVersion: string | undefined, body: unknown, routingKey?: string): Promise<RouteAnswer> {
    const envelope = parseOipEnvelope(body);
    const { model, version } = await this.target(ctx, name, rawVersion, routingKey);
    const { tensors, wanted } = decodeOipRequest(envelope, version.signature.inputs, outputNamesOf(version), mapOutputsOf(version));
    const outputs = await this.run(ctx, version, tensors, rawVersion);
    return { version: version.version, ...(await this.codec.answer({ route: 'oip', model: model.name, version: version.version, id: envelope.id, outputs: selectOutputs(outputs, wanted) })) };
  }

  /**
   * infer with a big body (see LargeJsonBody): the same steps, with the JSON parsed and the
   * tensors decoded in the JSON codec thread, and a big answer encoded there. Same answers,
   * same errors.
   */
  private async inferLarge(ctx: AuthContext, name: string, rawVersion: string | undefined, body: LargeJsonBody, routingKey?: string): Promise<RouteAnswer> {
    const parsed = await this.codec.parse('oip', body.bytes);
    const { model, version } = await this.codec.releasingOnError(parsed.token, () => this.target(ctx, name, rawVersion, routingKey));
    const { tensors, wanted } = await this.codec.decode('oip', parsed.token, version.signature.inputs, { outputNames: outputNamesOf(version), mapOutputs: mapOutputsOf(version) });
    const outputs = selectOutputs(await this.run(ctx, version, tensors, rawVersion), wanted);
    return { version: version.version, ...(await this.codec.answer({ route: 'oip', model: model.name, version: version.version, id: parsed.requestId, outputs })) };
  }

  /** A version or alias in the path chose the version; only the rule's own traffic is mirrored. */
  private run(ctx: AuthContext, version: ServableVersion, tensors: HostTensor[], rawVersion: string | undefined): Promise<HostTensor[]> {
    return this.executor.run(ctx, version, tensors, rawVersion === undefined ? 'by-rule' : 'explicit');
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

function outputNamesOf(version: ServableVersion): string[] {
  return version.outputs.map((o) => o.name);
}

/** The signature's map or sequence outputs (a ZipMap's), which are never fetched. */
function mapOutputsOf(version: ServableVersion): string[] {
  return version.signature.outputs.filter((o) => o.type === 'non-tensor').map((o) => o.name);
}
