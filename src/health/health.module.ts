import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry/registry.module';
import { HealthController } from './health.controller';
import { HealthService } from './health.service';

@Module({ imports: [RegistryModule], controllers: [HealthController], providers: [HealthService], exports: [HealthService] })
export class HealthModule {}
