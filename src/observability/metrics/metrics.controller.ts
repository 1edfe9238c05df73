import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../../auth/auth.decorator';
import { MetricsAccess } from './metrics-access';
import { ServiceMetrics } from './service-metrics';

@ApiTags('operations')
@ApiBearerAuth()
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: ServiceMetrics,
    private readonly access: MetricsAccess,
  ) {}

  /** Public to the tenant guard (no tenant may read it): MetricsAccess checks the root credential or MMS_METRICS_TOKEN. */
  @Get('metrics')
  @Public()
  @ApiOperation({ summary: 'Prometheus metrics (text format): the root credential or MMS_METRICS_TOKEN as bearer' })
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'the Prometheus text format, version 0.0.4' })
  @ApiResponse({ status: 401, description: 'UNAUTHENTICATED: neither the root credential nor MMS_METRICS_TOKEN' })
  @ApiResponse({ status: 403, description: "FORBIDDEN: a tenant's valid key or token (the figures cover every tenant)" })
  async scrape(@Headers('authorization') authorization: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    await this.access.assertMayScrape(authorization);
    const text = await this.metrics.render();
    void reply.header('content-type', this.metrics.contentType).header('cache-control', 'no-store');
    return text;
  }
}
