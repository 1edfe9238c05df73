import type { BatchJobSpec } from './batch-job-spec';
import { describeRouteKey } from './batch-planner.service';
import type { PartitionRow } from './batch.types';

/** A partition as the job's errors and its manifest show it. */
export function partitionView(p: PartitionRow, spec: BatchJobSpec) {
  return {
    route: routeOf(p, spec),
    chunk: p.chunk,
    model: p.model,
    version: p.version,
    status: p.status,
    attempts: p.attempt,
    rowsIn: p.rowsIn,
    rowsFailed: p.rowsFailed,
  };
}

/** `demand-north-0042`, or `region=north, store=0042`. */
export function routeOf(p: PartitionRow, spec: BatchJobSpec): string {
  return describeRouteKey(spec.route.by, p.routeKey, spec.route.by === 'segment' ? spec.route.columns : []);
}
