import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RegistryModule } from '../registry/registry.module';
import { TenancyService } from '../tenancy/tenancy.service';
import { ModelStore } from '../registry/store/model-store';
import { InferenceExecutor } from './inference-executor.service';
import { MirroredExecutor } from './mirrored-executor.service';
import { MicroBatcher } from './micro-batcher';
import { MlflowInvocationsController } from './mlflow-invocations.controller';
import { MlflowScoringService } from './mlflow-scoring.service';
import { ModelCacheController } from './model-cache.controller';
import { ModelResolver } from './model-resolver.service';
import { OipController } from './oip.controller';
import { OipService } from './oip.service';
import { PredictController } from './predict.controller';
import { PredictRoute } from './predict.route';
import { PredictFastLane } from './predict-fast-lane';
import { RegistryChangeFeed } from './registry-change-feed.service';
import { InferenceRuntime } from './runtime/inference-runtime';
import { WorkerPoolRuntime } from './runtime/worker-pool.runtime';
import { artifactLocator } from './session-footprint';
import { SessionCache } from './session-cache';
import { ServingRepository } from './serving.repository';
import { ServingService } from './serving.service';
import { TrafficRouter } from './traffic-router';
import { RolloutModule } from '../rollout/rollout.module';
import { RolloutTrafficRouter } from '../rollout/rollout-traffic-router';
import { VersionPrewarmer } from '../rollout/version-prewarmer';
import { ServingPrewarmer } from './serving-prewarmer';
import { JsonCodec } from './runtime/json-codec';
import { LargeJsonBodyParser } from './large-json-body';

/**
 * Online inference: /v1/predict (a lean Fastify route, PredictRoute), load/unload/cache, the Open Inference Protocol and MLflow scoring.
 * Global so that rollout can warm versions (VersionPrewarmer) without a module cycle.
 */
@Global()
@Module({
  imports: [RegistryModule, RolloutModule],
  controllers: [PredictController, ModelCacheController, OipController, MlflowInvocationsController],
  providers: [
    ServingRepository,
    { provide: TrafficRouter, useExisting: RolloutTrafficRouter },
    { provide: VersionPrewarmer, useClass: ServingPrewarmer },
    ModelResolver,
    { provide: InferenceRuntime, useFactory: (config: AppConfig) => new WorkerPoolRuntime(config.MMS_WORKERS, { nice: config.MMS_WORKER_NICE }), inject: [AppConfig] },
    {
      provide: SessionCache,
      useFactory: (runtime: InferenceRuntime, store: ModelStore, config: AppConfig, tenancy: TenancyService) =>
        new SessionCache(
          runtime,
          artifactLocator((sha256) => store.localPath(sha256)),
          {
            maxBytes: config.MMS_CACHE_MAX_BYTES,
            maxModels: config.MMS_CACHE_MAX_MODELS,
            shareOf: (tenantId) => tenancy.cachedLimitsOf(tenantId).cacheShare,
          },
        ),
      inject: [InferenceRuntime, ModelStore, AppConfig, TenancyService],
    },
    {
      provide: MicroBatcher,
      useFactory: (runtime: InferenceRuntime, config: AppConfig) => new MicroBatcher(runtime, { windowMs: config.MMS_BATCH_WINDOW_MS, maxRows: config.MMS_BATCH_MAX_ROWS }),
      inject: [InferenceRuntime, AppConfig],
    },
    InferenceExecutor,
    MirroredExecutor,
    { provide: JsonCodec, useFactory: () => new JsonCodec() },
    LargeJsonBodyParser,
    PredictRoute,
    PredictFastLane,
    RegistryChangeFeed,
    ServingService,
    OipService,
    MlflowScoringService,
  ],
  exports: [ModelResolver, InferenceExecutor, SessionCache, TrafficRouter, VersionPrewarmer],
})
export class ServingModule implements OnApplicationShutdown {
  constructor(
    @Inject(InferenceRuntime) private readonly runtime: InferenceRuntime,
    @Inject(JsonCodec) private readonly codec: JsonCodec,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.runtime.close(), this.codec.close()]);
  }
}
