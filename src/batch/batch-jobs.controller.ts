import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { BatchJobsService } from './batch-jobs.service';

const ROUTE_TAGS: SchemaObject = {
  type: 'object',
  additionalProperties: { type: 'string' },
  example: { family: 'demand' },
  description: 'only models carrying all these tags are candidates',
};

const JOB_BODY: SchemaObject = {
  type: 'object',
  required: ['input', 'route', 'features'],
  properties: {
    input: { type: 'object', properties: { uri: { type: 'string', example: 'data/sales-2026-11-24.csv' }, format: { enum: ['csv', 'jsonl', 'parquet'] } } },
    route: {
      oneOf: [
        { type: 'object', properties: { by: { enum: ['model'] }, column: { type: 'string', example: 'model' }, tags: ROUTE_TAGS } },
        { type: 'object', properties: { by: { enum: ['segment'] }, columns: { type: 'array', items: { type: 'string' }, example: ['region', 'store'] }, tags: ROUTE_TAGS } },
      ],
    },
    features: { type: 'array', items: { type: 'string' }, example: ['day_of_week', 'promo', 'price', 'lag_7', 'lag_28', 'temperature'] },
    passthrough: { type: 'array', items: { type: 'string' }, example: ['store', 'date'] },
    output: { type: 'object', properties: { format: { enum: ['csv', 'jsonl', 'parquet'] } } },
    miniBatchSize: { type: 'integer', default: 1000 },
    maxConcurrency: { type: 'integer', default: 32 },
    errorThreshold: { type: 'integer', default: -1, description: 'failed rows tolerated; -1 = no limit' },
    maxRetries: { type: 'integer', default: 3 },
  },
};

@ApiTags('batch')
@ApiBearerAuth()
@Controller('v1/batch-jobs')
export class BatchJobsController {
  constructor(private readonly jobs: BatchJobsService) {}

  @Post()
  @HttpCode(202)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Submit a batch scoring job over a file in the data directory' })
  @ApiBody({ schema: JOB_BODY })
  @ApiResponse({ status: 202, description: '{"id", "status": "queued"}' })
  submit(@Auth() ctx: AuthContext, @Body() body: unknown) {
    return this.jobs.submit(ctx, body);
  }

  @Get()
  @RequireRole('publisher')
  @ApiOperation({ summary: "The tenant's batch jobs, newest first" })
  @ApiQuery({ name: 'status', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1–500, default 50' })
  @ApiQuery({ name: 'cursor', required: false })
  list(@Auth() ctx: AuthContext, @Query() query: Record<string, unknown>) {
    return this.jobs.list(ctx, query);
  }

  @Get(':id')
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Status, progress (partitions and rows, rows/s, ETA), pinned versions, errors, output location' })
  get(@Auth() ctx: AuthContext, @Param('id') id: string) {
    return this.jobs.get(ctx, id);
  }

  @Get(':id/output')
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Streams the committed output (text/csv, application/x-ndjson or application/vnd.apache.parquet)' })
  @ApiProduces('text/csv', 'application/x-ndjson', 'application/vnd.apache.parquet')
  async output(@Auth() ctx: AuthContext, @Param('id') id: string) {
    const { handle, size, contentType, filename } = await this.jobs.output(ctx, id);
    return new StreamableFile(handle.createReadStream(), { type: contentType, disposition: `attachment; filename="${filename}"`, length: size });
  }

  @Get(':id/manifest')
  @RequireRole('publisher')
  @ApiOperation({ summary: "The committed output's manifest: partitions, row counts, model versions, errors" })
  manifest(@Auth() ctx: AuthContext, @Param('id') id: string) {
    return this.jobs.manifest(ctx, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Cancel a queued or running job (its staging stays, so retry can resume it)' })
  cancel(@Auth() ctx: AuthContext, @Param('id') id: string) {
    return this.jobs.cancel(ctx, id);
  }

  @Post(':id/retry')
  @HttpCode(202)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Run the failed and cancelled partitions again, then commit anew' })
  retry(@Auth() ctx: AuthContext, @Param('id') id: string) {
    return this.jobs.retry(ctx, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Delete a finished job: its files (staging, committed output, manifest) and its rows (409 while queued or running: cancel first)' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  async delete(@Auth() ctx: AuthContext, @Param('id') id: string): Promise<void> {
    await this.jobs.delete(ctx, id);
  }
}
