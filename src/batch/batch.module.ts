import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ServingModule } from '../serving/serving.module';
import { BatchCommitter } from './batch-committer.service';
import { BatchJobsController } from './batch-jobs.controller';
import { BatchJobsService } from './batch-jobs.service';
import { BatchPaths } from './batch-paths';
import { BatchPlanner } from './batch-planner.service';
import { BatchRetentionRepository } from './batch-retention.repository';
import { BatchRetention } from './batch-retention.service';
import { BatchRunner } from './batch-runner.service';
import { BatchScheduler } from './batch-scheduler.service';
import { BatchSchedulesController } from './batch-schedules.controller';
import { BatchSchedulesRepository } from './batch-schedules.repository';
import { BatchInputs } from './batch-inputs';
import { BatchRepository } from './batch.repository';
import { JobCoordinator } from './job-coordinator.service';
import { PartitionScorer } from './partition-scorer.service';
import { BatchPredictor } from './predictor/batch-predictor';
import { ServingBatchPredictor } from './predictor/serving-batch-predictor';
import { BatchQueue } from './queue/batch-queue';

/**
 * Batch scoring (API.md "Batch inference"): jobs over files in the data directory, fanned out
 * as partitions on pg-boss, scored by online serving's core, committed exactly once.
 */
@Module({
  imports: [ServingModule],
  controllers: [BatchJobsController, BatchSchedulesController],
  providers: [
    { provide: BatchPaths, useFactory: (config: AppConfig) => new BatchPaths(config.dataDir), inject: [AppConfig] },
    { provide: BatchPredictor, useClass: ServingBatchPredictor },
    BatchRepository,
    BatchInputs,
    BatchSchedulesRepository,
    BatchQueue,
    JobCoordinator,
    BatchPlanner,
    PartitionScorer,
    BatchCommitter,
    BatchRetentionRepository,
    BatchRetention,
    BatchJobsService,
    BatchScheduler,
    BatchRunner,
  ],
  exports: [BatchRunner, BatchJobsService],
})
export class BatchModule {}
