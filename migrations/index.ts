import { InitialRegistry1764000000000 } from './1764000000000-initial-registry';
import { TenancyKeysAudit1764000100000 } from './1764000100000-tenancy-keys-audit';
import { ModelNameSearch1764000200000 } from './1764000200000-model-name-search';
import { TrafficRules1764000300000 } from './1764000300000-traffic-rules';
import { BatchJobs1764000500000 } from './1764000500000-batch-jobs';
import { PredictionLog1764000700000 } from './1764000700000-prediction-log';
import { BatchDispatchIndex1764000800000 } from './1764000800000-batch-dispatch-index';
import { BatchOpenPartitionIndexes1764000900000 } from './1764000900000-batch-open-partition-indexes';
import { PredictionLogModelIndex1765000000000 } from './1765000000000-prediction-log-model-index';
import { ModelVersionStoredBytes1765000100000 } from './1765000100000-model-version-stored-bytes';
import { TenantMaxRunningBatchJobs1765000200000 } from './1765000200000-tenant-max-running-batch-jobs';
import { PredictionLogFirstOutput1765000300000 } from './1765000300000-prediction-log-first-output';
import { PredictionLogShadowOf1765000400000 } from './1765000400000-prediction-log-shadow-of';

/** Every migration, in order. Listed explicitly so that ts and compiled js runs agree. */
export const MIGRATIONS = [InitialRegistry1764000000000, TenancyKeysAudit1764000100000, ModelNameSearch1764000200000, TrafficRules1764000300000, BatchJobs1764000500000, PredictionLog1764000700000, BatchDispatchIndex1764000800000, BatchOpenPartitionIndexes1764000900000, PredictionLogModelIndex1765000000000, ModelVersionStoredBytes1765000100000, TenantMaxRunningBatchJobs1765000200000, PredictionLogFirstOutput1765000300000, PredictionLogShadowOf1765000400000];
