import { DomainError } from '../common/domain-error';

/** Codes of the batch module; their HTTP statuses live in common/domain-error.ts. */
export enum BatchErrorCode {
  /** The body of a job or schedule is malformed (the message names the field). */
  InvalidJob = 'INVALID_BATCH_JOB',
  /** The input URI is absolute, escapes MMS_DATA_DIR (also through a symlink) or is not a file. */
  InvalidInputUri = 'INVALID_INPUT_URI',
  InputNotFound = 'INPUT_NOT_FOUND',
  InvalidCron = 'INVALID_CRON',
  JobNotFound = 'JOB_NOT_FOUND',
  ScheduleNotFound = 'SCHEDULE_NOT_FOUND',
  /** No committed output yet (the job has not succeeded). */
  OutputNotReady = 'OUTPUT_NOT_READY',
  /** Cancel of a finished job, retry of a job with nothing to retry. */
  JobStateConflict = 'JOB_STATE_CONFLICT',
}

export class BatchError extends DomainError<BatchErrorCode> {}

export function invalidJob(message: string, field?: string): BatchError {
  return new BatchError(BatchErrorCode.InvalidJob, message, field ? { field } : {});
}
