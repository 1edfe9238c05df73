import { Global, Inject, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { HealthModule } from '../health/health.module';
import { RegistryEvents } from '../registry/registry-events';
import { RegistryModule } from '../registry/registry.module';
import { FeedbackController } from './feedback/feedback.controller';
import { FeedbackService } from './feedback/feedback.service';
import { PredictionLogRepository } from './feedback/prediction-log.repository';
import { PredictionLogRetention } from './feedback/prediction-log.retention';
import { PredictionLogWriter } from './feedback/prediction-log.writer';
import { RequestObserver } from './http/request-observer';
import { MetricsAccess } from './metrics/metrics-access';
import { MetricsController } from './metrics/metrics.controller';
import { ScrapeSources } from './metrics/scrape-sources';
import { ServiceMetrics } from './metrics/service-metrics';

/**
 * Operations: /metrics, request metrics and logs, the sampled prediction log, feedback and
 * forecast quality. Global so that other modules can inject ServiceMetrics, and serving the
 * request observer and the prediction log (whose ids carry the sampling decision); it reads
 * the other modules at scrape time (through ModuleRef) without depending on them.
 */
@Global()
@Module({
  imports: [RegistryModule, HealthModule],
  controllers: [MetricsController, FeedbackController],
  providers: [
    { provide: ServiceMetrics, useFactory: (config: AppConfig) => new ServiceMetrics({ maxModels: config.MMS_METRICS_MAX_MODELS }), inject: [AppConfig] },
    MetricsAccess,
    ScrapeSources,
    RequestObserver,
    PredictionLogRepository,
    PredictionLogWriter,
    PredictionLogRetention,
    FeedbackService,
  ],
  exports: [ServiceMetrics, RequestObserver, PredictionLogWriter],
})
export class ObservabilityModule implements OnApplicationBootstrap, OnModuleDestroy {
  private unsubscribers: Array<() => void> = [];

  constructor(
    @Inject(RegistryEvents) private readonly events: RegistryEvents,
    @Inject(PredictionLogRepository) private readonly repository: PredictionLogRepository,
    @Inject(PredictionLogWriter) private readonly writer: PredictionLogWriter,
  ) {}

  onApplicationBootstrap(): void {
    // A deleted model's logged predictions go with it, so a model registered again under the name starts clean.
    this.unsubscribers.push(
      this.events.subscribe((change) => {
        if (change.kind === 'model-deleted') void this.forgetPredictions(change.tenantId, change.model).catch(() => undefined);
      }),
      // Deleted through another replica, which purged the log: what this one still buffers of the
      // model would be written after that and count as predictions of a model registered again.
      this.events.subscribeRemote((change) => {
        if (change.kind === 'model-deleted') void this.writer.forgetModel(change.tenantId, change.model).catch(() => undefined);
      }),
    );
  }

  /** Those still buffered too: written after the purge, they would count as the new model's. */
  private async forgetPredictions(tenantId: string, model: string): Promise<void> {
    await this.writer.forgetModel(tenantId, model);
    await this.repository.deleteModelPredictions(tenantId, model);
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
  }
}
