import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AuthContext } from '../auth/auth-context';
import type { AppConfig } from '../config/app-config';
import type { BatchInputs } from './batch-inputs';
import { BatchJobsService } from './batch-jobs.service';
import { BatchPaths } from './batch-paths';
import type { BatchPlanner } from './batch-planner.service';
import type { BatchRetention } from './batch-retention.service';
import type { BatchRepository } from './batch.repository';
import { JobStatus, type JobRow } from './batch.types';
import type { JobCoordinator } from './job-coordinator.service';
import type { BatchQueue } from './queue/batch-queue';

const ctx: AuthContext = { tenantId: 't', role: 'publisher', principal: 'p', keyId: null, via: 'key', modelScope: null };
const JOB_ID = '0b7f6a52-7f0e-4a4e-9a55-3c1d2f6b9e10';

/**
 * A retry of a succeeded job commits `output-2/`, then removes `output-1/`. A download that read
 * the job a moment before the new commit was recorded looked for `output-1/` once it was gone and
 * answered 409 OUTPUT_NOT_READY ("no longer in the data directory") — or, between the existence
 * check and the stat, failed with a 500 — while a committed output was there.
 */
describe('BatchJobsService: reading the output while a retry commits it anew', () => {
  let dir: string;
  let service: BatchJobsService;
  let findJob: jest.Mock;

  const job = (seq: number): Partial<JobRow> => ({
    id: JOB_ID,
    tenantId: 't',
    status: JobStatus.Succeeded,
    spec: { output: { format: 'csv' } } as JobRow['spec'],
    outputPath: `batch/t/${JOB_ID}/output-${seq}/output.csv`,
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h29a-recommit-'));
    // Only the new commit is left: the old one was removed by the committer.
    const committed = path.join(dir, 'batch', 't', JOB_ID, 'output-2');
    fs.mkdirSync(committed, { recursive: true });
    fs.writeFileSync(path.join(committed, 'output.csv'), 'id,model,version,y\n1,m,1,2\n');
    fs.writeFileSync(path.join(committed, 'manifest.json'), JSON.stringify({ commit: 2 }));
    findJob = jest.fn().mockResolvedValueOnce(job(1)).mockResolvedValue(job(2));
    const repository = { dataSource: {}, findJob } as unknown as BatchRepository;
    const none = {} as never;
    service = new BatchJobsService(repository, none as BatchQueue, none as BatchPlanner, none as JobCoordinator, new BatchPaths(dir), none as BatchRetention, none as BatchInputs, none as AppConfig);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('streams the new commit', async () => {
    const { handle, size, contentType } = await service.output(ctx, JOB_ID);
    try {
      expect(await handle.readFile('utf8')).toBe('id,model,version,y\n1,m,1,2\n');
      expect(size).toBe(27);
      expect(contentType).toMatch(/^text\/csv/);
    } finally {
      await handle.close();
    }
    expect(findJob).toHaveBeenCalledTimes(2);
  });

  it('answers the manifest of the new commit', async () => {
    await expect(service.manifest(ctx, JOB_ID)).resolves.toEqual({ commit: 2 });
  });

  it('still answers OUTPUT_NOT_READY when the committed output is really gone', async () => {
    fs.rmSync(path.join(dir, 'batch'), { recursive: true });
    await expect(service.output(ctx, JOB_ID)).rejects.toMatchObject({ code: 'OUTPUT_NOT_READY', message: `The output of job ${JOB_ID} is no longer in the data directory` });
  });
});
