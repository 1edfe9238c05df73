import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { BatchModule } from './batch/batch.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { DemoModule } from './demo/demo.module';
import { HealthModule } from './health/health.module';
import { ObservabilityModule } from './observability/observability.module';
import { RegistryModule } from './registry/registry.module';
import { RolloutModule } from './rollout/rollout.module';
import { ServingModule } from './serving/serving.module';

@Module({})
export class AppModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, AuditModule, AuthModule, RegistryModule, ServingModule, RolloutModule, HealthModule, ObservabilityModule, DemoModule, BatchModule],
    };
  }
}
