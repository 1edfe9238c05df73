import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorator';
import { HealthService } from './health.service';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get(['health/live', 'v2/health/live'])
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return { status: 'live' };
  }

  @Get(['health/ready', 'v2/health/ready'])
  @ApiOperation({ summary: 'Readiness: migrations applied, database answers, model store writable (503 otherwise)' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const readiness = await this.health.readiness();
    if (readiness.status !== 'ready') void reply.status(503);
    return readiness;
  }
}
