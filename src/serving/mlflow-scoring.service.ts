import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { MirroredExecutor } from './mirrored-executor.service';
import { LARGE_BODY_BYTES, LargeJsonBody } from './large-json-body';
import { CsvBody, parseMlflowCsv } from './mlflow-csv';
import { mlflowAnswerForm } from './mlflow-answer';
import { decodeMlflowInputs, hasMlflowTensorSignature, MlflowInput, mlflowColumnNames, parseMlflowPayload, parseMlflowQuery } from './mlflow-payload';
import { ModelResolver } from './model-resolver.service';
import { parseModelName } from './predict-request';
import type { RouteAnswer } from './route-answer';
import { JsonCodec } from './runtime/json-codec';
import type { HeldToken } from './runtime/json-codec-protocol';
import type { ServableVersion } from './servable';
import type { HostTensor } from './tensor-codec';

type VersionTarget = ReturnType<typeof parseMlflowQuery>;

/** MLflow's scoring protocol (`POST /invocations` of `mlflow models serve`), per registered model. */
@Injectable()
export class MlflowScoringService {
  constructor(
    private readonly resolver: ModelResolver,
    private readonly executor: MirroredExecutor,
    private readonly codec: JsonCodec,
  ) {}

  /** POST …/invocations, with a JSON or CSV body; a big body (LargeJsonBody, or CSV as big) is read off the HTTP thread. */
  async invocations(ctx: AuthContext, name: string, query: Record<string, unknown> | undefined, body: unknown, routingKey?: string): Promise<RouteAnswer> {
    const target = parseMlflowQuery(query);
    if (body instanceof LargeJsonBody) return this.invocationsLarge(ctx, name, target, await this.codec.parse('mlflow', body.bytes), routingKey);
    if (body instanceof CsvBody) {
      if (body.bytes.length >= LARGE_BODY_BYTES) return this.invocationsLarge(ctx, name, target, await this.codec.parse('mlflow', body.bytes, undefined, 'csv'), routingKey);
      return this.invocationsBody(ctx, name, target, parseMlflowCsv(body.bytes), routingKey);
    }
    return this.invocationsBody(ctx, name, target, parseMlflowPayload(body), routingKey);
  }

  private async invocationsBody(ctx: AuthContext, name: string, target: VersionTarget, sent: MlflowInput, routingKey?: string): Promise<RouteAnswer> {
    const version = await this.resolver.resolve(ctx, { model: parseModelName(name), ...target, routingKey });
    const { tensors, frameRows } = decodeMlflowInputs(sent, version.signature.inputs, mlflowColumnNames(version.mlflow));
    return this.answer(version, frameRows, await this.run(ctx, version, tensors, target));
  }

  /** The same steps with the JSON parsed and the inputs decoded in the JSON codec thread, and a big answer encoded there. */
  private async invocationsLarge(ctx: AuthContext, name: string, target: VersionTarget, parsed: { token: HeldToken }, routingKey?: string): Promise<RouteAnswer> {
    const version = await this.codec.releasingOnError(parsed.token, () => this.resolver.resolve(ctx, { model: parseModelName(name), ...target, routingKey }));
    const { tensors, frameRows } = await this.codec.decode('mlflow', parsed.token, version.signature.inputs, { columnNames: mlflowColumnNames(version.mlflow) });
    return this.answer(version, frameRows, await this.run(ctx, version, tensors, target));
  }

  /**
   * Records for a data frame whose outputs are all per row by the version's signature, else the dict of outputs.
   * An MLflow model with a tensor-based signature answers a data frame as a dict too: MLflow feeds it as tensors.
   */
  private async answer(version: ServableVersion, frameRows: number | null, outputs: HostTensor[]): Promise<RouteAnswer> {
    const rows = hasMlflowTensorSignature(version.mlflow) ? null : frameRows;
    const form = mlflowAnswerForm(rows, version.signature.inputs, version.outputs, outputs);
    return { version: version.version, ...(await this.codec.answer({ route: 'mlflow', form, outputs })) };
  }

  /** A version or alias in the query chose the version; only the rule's own traffic is mirrored. */
  private run(ctx: AuthContext, version: ServableVersion, tensors: HostTensor[], target: VersionTarget): Promise<HostTensor[]> {
    return this.executor.run(ctx, version, tensors, target.version === undefined && target.alias === undefined ? 'by-rule' : 'explicit');
  }

  /** GET …/ping and …/health (MLflow's scoring-server probes): the model (and version asked for) resolves. */
  async ping(ctx: AuthContext, name: string, query: Record<string, unknown> | undefined): Promise<{ status: 'ok'; model: string }> {
    const target = parseMlflowQuery(query);
    const model = await this.resolver.resolveModel(ctx, parseModelName(name));
    this.resolver.selectVersion(model, target);
    return { status: 'ok', model: model.name };
  }
}
