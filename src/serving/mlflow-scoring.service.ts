import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { MirroredExecutor } from './mirrored-executor.service';
import { LargeJsonBody } from './large-json-body';
import { mlflowAnswerForm } from './mlflow-answer';
import { decodeMlflowInputs, mlflowColumnNames, parseMlflowPayload, parseMlflowQuery } from './mlflow-payload';
import { ModelResolver } from './model-resolver.service';
import { parseModelName } from './predict-request';
import type { RouteAnswer } from './route-answer';
import { JsonCodec } from './runtime/json-codec';
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

  /** POST …/invocations; a big body (LargeJsonBody) is read off the HTTP thread. */
  invocations(ctx: AuthContext, name: string, query: Record<string, unknown> | undefined, body: unknown, routingKey?: string): Promise<RouteAnswer> {
    const target = parseMlflowQuery(query);
    return body instanceof LargeJsonBody ? this.invocationsLarge(ctx, name, target, body, routingKey) : this.invocationsBody(ctx, name, target, body, routingKey);
  }

  private async invocationsBody(ctx: AuthContext, name: string, target: VersionTarget, body: unknown, routingKey?: string): Promise<RouteAnswer> {
    const sent = parseMlflowPayload(body);
    const version = await this.resolver.resolve(ctx, { model: parseModelName(name), ...target, routingKey });
    const { tensors, frameRows } = decodeMlflowInputs(sent, version.signature.inputs, mlflowColumnNames(version.mlflow));
    return this.answer(version, frameRows, await this.run(ctx, version, tensors, target));
  }

  /** The same steps with the JSON parsed and the inputs decoded in the JSON codec thread, and a big answer encoded there. */
  private async invocationsLarge(ctx: AuthContext, name: string, target: VersionTarget, body: LargeJsonBody, routingKey?: string): Promise<RouteAnswer> {
    const parsed = await this.codec.parse('mlflow', body.bytes);
    const version = await this.codec.releasingOnError(parsed.token, () => this.resolver.resolve(ctx, { model: parseModelName(name), ...target, routingKey }));
    const { tensors, frameRows } = await this.codec.decode('mlflow', parsed.token, version.signature.inputs, { columnNames: mlflowColumnNames(version.mlflow) });
    return this.answer(version, frameRows, await this.run(ctx, version, tensors, target));
  }

  /** Records for a data frame whose outputs are all per row by the version's signature, else the dict of outputs. */
  private async answer(version: ServableVersion, frameRows: number | null, outputs: HostTensor[]): Promise<RouteAnswer> {
    const form = mlflowAnswerForm(frameRows, version.signature.inputs, version.outputs, outputs);
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
