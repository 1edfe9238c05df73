import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { BatchScheduler } from './batch-scheduler.service';

@ApiTags('batch')
@ApiBearerAuth()
@Controller('v1/batch-schedules')
export class BatchSchedulesController {
  constructor(private readonly scheduler: BatchScheduler) {}

  @Post()
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Run a batch job on a cron schedule ({date} and {yesterday} in input.uri become the firing day)' })
  @ApiBody({
    schema: {
      type: 'object',
      required: ['cron', 'job'],
      properties: {
        cron: { type: 'string', example: '0 2 * * *', description: '5 fields, or 6 with seconds first' },
        timezone: { type: 'string', example: 'UTC' },
        name: { type: 'string' },
        job: { type: 'object', description: 'the body of POST /v1/batch-jobs' },
      },
    },
  })
  create(@Auth() ctx: AuthContext, @Body() body: unknown) {
    return this.scheduler.create(ctx, body);
  }

  @Get()
  @RequireRole('publisher')
  @ApiOperation({ summary: "The tenant's schedules" })
  list(@Auth() ctx: AuthContext) {
    return this.scheduler.list(ctx);
  }

  @Get(':id')
  @RequireRole('publisher')
  get(@Auth() ctx: AuthContext, @Param('id') id: string) {
    return this.scheduler.get(ctx, id);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireRole('publisher')
  async delete(@Auth() ctx: AuthContext, @Param('id') id: string) {
    await this.scheduler.delete(ctx, id);
  }

  @Post(':id/run')
  @HttpCode(202)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Fire the schedule now (its cron timing is unchanged)' })
  run(@Auth() ctx: AuthContext, @Param('id') id: string) {
    return this.scheduler.runNow(ctx, id);
  }
}
