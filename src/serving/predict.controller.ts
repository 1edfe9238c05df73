import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { LargeJsonBody } from './large-json-body';
import { ServingService } from './serving.service';

const PREDICT_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    model: { type: 'string', example: 'demand-north-0042' },
    segment: { type: 'object', additionalProperties: { type: 'string' }, example: { region: 'north', store: '0042' }, description: 'instead of model: the most specific matching model' },
    version: { type: 'integer', minimum: 1 },
    alias: { type: 'string', example: 'staging' },
    key: { type: 'string', description: 'routing key for traffic rules (or header x-routing-key)' },
    inputs: {
      type: 'object',
      description: 'input name → nested array, or {"shape": [...], "data": [...flat]}',
      example: { float_input: [[1, 0, 4.5, 120, 98, 14]] },
    },
  },
};

@ApiTags('online inference')
@ApiBearerAuth()
@Controller('v1/predict')
export class PredictController {
  constructor(private readonly serving: ServingService) {}

  @Post()
  @HttpCode(200)
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Predict with a model named, or matched by segment; answers the version in x-model-version' })
  @ApiBody({ schema: PREDICT_BODY })
  @ApiResponse({ status: 200, description: '{"model", "version", "outputs": {"variable": [[142.5]]}, "predictionId"}' })
  @ApiResponse({ status: 400, description: 'INVALID_INPUT: wrong input name, dtype or shape' })
  @ApiResponse({ status: 503, description: 'MODEL_LOAD_FAILED: the artifact did not load (retried after a backoff)' })
  async predict(@Auth() ctx: AuthContext, @Body() body: unknown, @Headers('x-routing-key') routingKey: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    const result = body instanceof LargeJsonBody ? await this.serving.predictLarge(ctx, body, routingKey) : await this.serving.predict(ctx, body, routingKey);
    void reply.header('x-model-version', String(result.version));
    if ('payload' in result) {
      void reply.type('application/json; charset=utf-8');
      return result.payload;
    }
    return result;
  }

  @Post('fanout')
  @HttpCode(200)
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Several predictions in one call; results in request order, a failed item is an error in its slot' })
  @ApiBody({ schema: { type: 'object', required: ['requests'], properties: { requests: { type: 'array', items: PREDICT_BODY, maxItems: 1000 } } } })
  fanout(@Auth() ctx: AuthContext, @Body() body: unknown, @Headers('x-routing-key') routingKey: string | undefined) {
    return this.serving.fanout(ctx, body, routingKey);
  }
}
