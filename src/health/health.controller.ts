import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorator';
import { HealthService } from './health.service';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  // `live` and `ready` are the booleans KServe's InferenceRESTClient reads from /v2/health/* (as
  // KServe's own server answers them); an answer without them reads as "not live".
  @Get(['health/live', 'v2/health/live'])
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiResponse({ status: 200, description: '{"status":"live","live":true}' })
  live() {
    return { status: 'live', live: true };
  }

  @Get(['health/ready', 'v2/health/ready'])
  @ApiOperation({
    summary: 'Readiness: 200 when migrations are applied, the database answers and the model store is writable; 503 with the failing checks otherwise (status "degraded" while loaded models still answer)',
  })
  // A probe acts on the status code: both answers are part of the contract, with the same body.
  @ApiResponse({ status: 200, description: '{"status":"ready","ready":true,"checks":{"database","migrations","modelStore"},"failing":[],"loadedModels"} (or "degraded" with ?allowDegraded=true)' })
  @ApiResponse({ status: 503, description: '{"status":"not_ready"|"degraded","ready":false,"checks":{…},"failing":["database"…],"loadedModels"}' })
  @ApiQuery({ name: 'allowDegraded', required: false, description: 'true: answer 200 while degraded (keeps a replica in rotation through a database outage)' })
  async ready(@Query('allowDegraded') allowDegraded: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    const readiness = await this.health.readiness();
    const ok = readiness.status === 'ready' || (readiness.status === 'degraded' && allowDegraded === 'true');
    if (!ok) void reply.status(503);
    return { ...readiness, ready: ok };
  }
}
