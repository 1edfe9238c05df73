import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole } from '../../auth/auth.decorator';
import type { AuthContext } from '../../auth/auth-context';
import { FeedbackService } from './feedback.service';

const ITEM = {
  type: 'object',
  required: ['actual'],
  properties: {
    predictionId: { type: 'string', description: 'as the prediction answered' },
    model: { type: 'string', description: 'instead of predictionId: the model and the routing key sent with the prediction' },
    key: { type: 'string', description: 'the body field key (or header x-routing-key) of the prediction' },
    actual: { description: 'what really happened, shaped like the output: a number, nested arrays, or {"<output>": nested arrays}; null = not known yet', example: [[150]] },
  },
};

@ApiTags('operations')
@ApiBearerAuth()
@Controller()
export class FeedbackController {
  constructor(private readonly feedback: FeedbackService) {}

  @Post('v1/feedback')
  @HttpCode(200)
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Record actuals for logged predictions, by predictionId or by model and routing key; one item or {"items": [...]}' })
  @ApiBody({ schema: { oneOf: [ITEM, { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ITEM, maxItems: 10_000 } } }] } })
  @ApiResponse({ status: 200, description: 'one item: {"predictionId","model","version","values","mae","mape","bias"}; items: {"recorded","failed","results":[...]} with an error in the slot of a failed item' })
  @ApiResponse({ status: 404, description: 'PREDICTION_NOT_FOUND: no logged prediction with that id (or model and key) in your tenant, after waiting up to 2.5 s for a fresh predictionId that may still be on its way from another replica' })
  @ApiResponse({ status: 400, description: 'INVALID_FEEDBACK: the actual does not fit the prediction' })
  record(@Auth() ctx: AuthContext, @Body() body: unknown) {
    return this.feedback.recordFeedback(ctx, body);
  }

  @Get('v1/models/:name/quality')
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Forecast error per version (count, MAE, MAPE, bias, RMSE) over the predictions whose actual arrived within the window' })
  @ApiQuery({ name: 'window', required: false, example: '7d', description: 'hours or days: 24h, 1d, 7d, 30d (default 7d)' })
  quality(@Auth() ctx: AuthContext, @Param('name') name: string, @Query() query: Record<string, unknown>) {
    return this.feedback.modelQuality(ctx, name, query);
  }
}
