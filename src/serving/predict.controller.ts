import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { PREDICT_BODY } from './predict.route';
import { sendAnswer } from './route-answer';
import { ServingService } from './serving.service';

/** POST /v1/predict/fanout. POST /v1/predict itself is a lean Fastify route (predict.route.ts). */
@ApiTags('online inference')
@ApiBearerAuth()
@Controller('v1/predict')
export class PredictController {
  constructor(private readonly serving: ServingService) {}

  @Post('fanout')
  @HttpCode(200)
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Several predictions in one call; results in request order, a failed item is an error in its slot' })
  @ApiBody({ schema: { type: 'object', required: ['requests'], properties: { requests: { type: 'array', items: PREDICT_BODY, maxItems: 1000 } } } })
  async fanout(@Auth() ctx: AuthContext, @Body() body: unknown, @Headers('x-routing-key') routingKey: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    return sendAnswer(reply, await this.serving.fanout(ctx, body, routingKey));
  }
}
