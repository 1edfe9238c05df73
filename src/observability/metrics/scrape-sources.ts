import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthService } from '../../health/health.service';
import { ShadowMonitor } from '../../rollout/shadow-monitor';
import { TrafficMirror } from '../../rollout/traffic-mirror.service';
import { ModelResolver } from '../../serving/model-resolver.service';
import { InferenceRuntime } from '../../serving/runtime/inference-runtime';
import { SessionCache } from '../../serving/session-cache';
import { PredictionLogRepository } from '../feedback/prediction-log.repository';
import { PredictionLogWriter } from '../feedback/prediction-log.writer';
import { ServiceMetrics } from './service-metrics';

/**
 * Points ServiceMetrics at the modules whose figures it reads at scrape time, found through
 * ModuleRef (non-strict: any module may be absent, and none of them depends on this one).
 */
@Injectable()
export class ScrapeSources implements OnApplicationBootstrap {
  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly metrics: ServiceMetrics,
    private readonly health: HealthService,
    private readonly predictionLog: PredictionLogWriter,
    private readonly repository: PredictionLogRepository,
  ) {}

  onApplicationBootstrap(): void {
    const cache = this.find(SessionCache);
    const runtime = this.find(InferenceRuntime);
    const shadows = this.find(ShadowMonitor);
    const mirror = this.find(TrafficMirror);
    const resolver = this.find(ModelResolver);
    this.metrics.attach({
      ...(cache ? { cache } : {}),
      ...(runtime ? { workers: () => runtime.workers() } : {}),
      ...(shadows ? { mirrors: () => shadows.all() } : {}),
      ...(mirror ? { mirrorShed: () => mirror.shed } : {}),
      modelsById: (ids) => this.repository.findModelNames(ids),
      health: async () => (await this.health.readiness()).checks,
      predictionLogBuffered: () => this.predictionLog.buffered,
      ...(resolver ? { registryNotifications: () => resolver.notificationsFlowing } : {}),
    });
  }

  private find<T>(token: abstract new (...args: never[]) => T): T | undefined {
    try {
      return this.moduleRef.get(token as never, { strict: false }) as T;
    } catch {
      return undefined;
    }
  }
}
