import { Injectable } from '@nestjs/common';
import type { AuthContext } from '../auth/auth-context';
import { MirroredExecutor } from './mirrored-executor.service';
import { asSignatureFrame, mlflowColumnNames, mlflowInputs, mlflowPredictions, parseMlflowPayload, parseMlflowQuery } from './mlflow-payload';
import { ModelResolver } from './model-resolver.service';
import { parseModelName } from './predict-request';
import { decodeInputs } from './tensor-codec';

/** MLflow's scoring protocol (`POST /invocations` of `mlflow models serve`), per registered model. */
@Injectable()
export class MlflowScoringService {
  constructor(
    private readonly resolver: ModelResolver,
    private readonly executor: MirroredExecutor,
  ) {}

  async invocations(ctx: AuthContext, name: string, query: Record<string, unknown> | undefined, body: unknown, routingKey?: string): Promise<{ predictions: unknown; version: number }> {
    const target = parseMlflowQuery(query);
    const sent = parseMlflowPayload(body);
    const version = await this.resolver.resolve(ctx, { model: parseModelName(name), ...target, routingKey });
    const columnNames = mlflowColumnNames(version.mlflow);
    const payload = asSignatureFrame(sent, version.signature.inputs, columnNames);
    const inputs = mlflowInputs(payload, version.signature.inputs, columnNames);
    // Data frames carry missing values as null: NaN for float inputs, as pandas would.
    const feeds = decodeInputs(version.signature.inputs, inputs, { nullAsNaN: payload.kind === 'dataframe' });
    // A version or alias in the query chose the version; only the rule's own traffic is mirrored.
    const outputs = await this.executor.run(ctx, version, feeds, target.version === undefined && target.alias === undefined ? 'by-rule' : 'explicit');
    return { predictions: mlflowPredictions(payload, outputs), version: version.version };
  }

  /** GET …/ping and …/health (MLflow's scoring-server probes): the model (and version asked for) resolves. */
  async ping(ctx: AuthContext, name: string, query: Record<string, unknown> | undefined): Promise<{ status: 'ok'; model: string }> {
    const target = parseMlflowQuery(query);
    const model = await this.resolver.resolveModel(ctx, parseModelName(name));
    this.resolver.selectVersion(model, target);
    return { status: 'ok', model: model.name };
  }
}
