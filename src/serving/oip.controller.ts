import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { OipService } from './oip.service';
import { sendAnswer } from './route-answer';
import { checkedRoutingKeyHeader } from './predict-request';

const INFER_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    id: { type: 'string' },
    inputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype', 'data'],
        properties: { name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } }, datatype: { type: 'string', example: 'FP32' }, data: { type: 'array', items: {} } },
      },
    },
    outputs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
  },
};

/** Open Inference Protocol v2 REST (KServe / Triton); health lives in the health module. */
@ApiTags('open inference protocol')
@ApiBearerAuth()
@Controller('v2')
export class OipController {
  constructor(private readonly oip: OipService) {}

  @Get()
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Server metadata' })
  server() {
    return this.oip.serverMetadata();
  }

  @Get('models/:name')
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Model metadata: versions, platform, inputs and outputs (-1 for a dynamic dimension)' })
  model(@Auth() ctx: AuthContext, @Param('name') name: string, @Headers('x-routing-key') routingKey: string | undefined) {
    return this.oip.modelMetadata(ctx, name, undefined, checkedRoutingKeyHeader(routingKey));
  }

  @Get('models/:name/versions/:version')
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Metadata of one version (a number, or an alias such as production)' })
  modelVersion(@Auth() ctx: AuthContext, @Param('name') name: string, @Param('version') version: string) {
    return this.oip.modelMetadata(ctx, name, version);
  }

  @Get('models/:name/config')
  @RequireRole('scorer')
  @ApiOperation({ summary: "Triton's model configuration extension: the model's ModelConfig (max_batch_size 0, dims with the batch dimension)" })
  config(@Auth() ctx: AuthContext, @Param('name') name: string, @Headers('x-routing-key') routingKey: string | undefined) {
    return this.oip.modelConfig(ctx, name, undefined, checkedRoutingKeyHeader(routingKey));
  }

  @Get('models/:name/versions/:version/config')
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Model configuration of one version' })
  versionConfig(@Auth() ctx: AuthContext, @Param('name') name: string, @Param('version') version: string) {
    return this.oip.modelConfig(ctx, name, version);
  }

  @Get('models/:name/ready')
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Model readiness: 200 when it would serve now (503 while a failed load waits for its retry)' })
  ready(@Auth() ctx: AuthContext, @Param('name') name: string, @Headers('x-routing-key') routingKey: string | undefined) {
    return this.oip.ready(ctx, name, undefined, checkedRoutingKeyHeader(routingKey));
  }

  @Get('models/:name/versions/:version/ready')
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Readiness of one version' })
  versionReady(@Auth() ctx: AuthContext, @Param('name') name: string, @Param('version') version: string) {
    return this.oip.ready(ctx, name, version);
  }

  @Post('models/:name/infer')
  @HttpCode(200)
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Inference (flat or nested data, row-major); answers flat data' })
  @ApiBody({ schema: INFER_BODY })
  async infer(@Auth() ctx: AuthContext, @Param('name') name: string, @Body() body: unknown, @Headers('x-routing-key') routingKey: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    return sendAnswer(reply, await this.oip.infer(ctx, name, undefined, body, checkedRoutingKeyHeader(routingKey)));
  }

  @Post('models/:name/versions/:version/infer')
  @HttpCode(200)
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Inference on one version' })
  @ApiBody({ schema: INFER_BODY })
  async inferVersion(@Auth() ctx: AuthContext, @Param('name') name: string, @Param('version') version: string, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    return sendAnswer(reply, await this.oip.infer(ctx, name, version, body));
  }
}
