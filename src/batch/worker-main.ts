import 'reflect-metadata';
import { DynamicModule, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { AppConfig, loadConfig } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { ObservabilityModule } from '../observability/observability.module';
import { RegistryModule } from '../registry/registry.module';
import { BatchModule } from './batch.module';
import { mallocAdvice, runsOnGlibc } from '../common/malloc-tuning';

/**
 * A process that only works the batch queue: no HTTP, same database, model store and data
 * directory. It takes serving's core (resolver, session cache, inference workers), and with it
 * the observability module serving depends on (metrics, the prediction log's ids).
 */
@Module({})
class BatchWorkerModule {
  static forConfig(config: AppConfig): DynamicModule {
    return { module: BatchWorkerModule, imports: [ConfigModule.forRoot(config), DatabaseModule, AuditModule, AuthModule, RegistryModule, ObservabilityModule, BatchModule] };
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.usesEmbeddedDatabase) {
    throw new Error('npm run worker needs DATABASE_URL: the embedded database belongs to the server process (which works the batch queue itself)');
  }
  if (config.MMS_BATCH_CONCURRENCY === 0) throw new Error('MMS_BATCH_CONCURRENCY=0 leaves a worker process nothing to do');
  const levels = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
  const app = await NestFactory.createApplicationContext(BatchWorkerModule.forConfig(config), {
    logger: levels.slice(0, levels.indexOf(config.LOG_LEVEL) + 1) as Array<(typeof levels)[number]>,
    abortOnError: false,
  });
  app.enableShutdownHooks();
  new Logger('BatchWorker').log(`batch worker ready (pid ${process.pid})`);
  const advice = mallocAdvice(process.env, runsOnGlibc());
  if (advice) new Logger('Memory').warn(advice);
}

main().catch((error: Error) => {
  console.error(`\nCannot start the batch worker: ${error.message}\n`);
  process.exit(1);
});
