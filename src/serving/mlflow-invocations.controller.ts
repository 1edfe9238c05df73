import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { MlflowScoringService } from './mlflow-scoring.service';
import { sendAnswer } from './route-answer';
import { checkedRoutingKeyHeader } from './predict-request';

/** `?version=` or `?alias=`: which version serves, as in a /v1/predict body. */
const VersionQuery = () => ApiQuery({ name: 'version', required: false, schema: { type: 'integer', minimum: 1 } });
const AliasQuery = () => ApiQuery({ name: 'alias', required: false, schema: { type: 'string' } });

export const INVOCATIONS_PATH = '/v1/models/{name}/invocations';

/**
 * The `text/csv` body of invocations in the OpenAPI document: CSV text, as pandas'
 * `to_csv(index=False)` writes it (`@ApiBody` gives every media type the JSON body's schema).
 */
export const INVOCATIONS_CSV_OPENAPI = {
  schema: { type: 'string' as const, example: 'day_of_week,promo,price,lag_7,lag_28,temperature\n4,1,3.49,55,51,22\n' },
};

@ApiTags('mlflow scoring')
@ApiBearerAuth()
@Controller('v1/models')
export class MlflowInvocationsController {
  constructor(private readonly mlflow: MlflowScoringService) {}

  @Post(':name/invocations')
  @HttpCode(200)
  @RequireRole('scorer')
  @ApiOperation({ summary: 'MLflow scoring protocol: dataframe_split, dataframe_records, instances or inputs (JSON), or a data frame as CSV (text/csv, a header row of column names) → {"predictions"}' })
  @ApiConsumes('application/json', 'text/csv')
  @VersionQuery()
  @AliasQuery()
  @ApiBody({
    schema: {
      type: 'object',
      example: { dataframe_split: { columns: ['day_of_week', 'promo', 'price', 'lag_7', 'lag_28', 'temperature'], data: [[4, 1, 3.49, 55, 51, 22]] } },
    },
  })
  async invocations(
    @Auth() ctx: AuthContext,
    @Param('name') name: string,
    @Query() query: Record<string, unknown>,
    @Body() body: unknown,
    @Headers('x-routing-key') routingKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return sendAnswer(reply, await this.mlflow.invocations(ctx, name, query, body, checkedRoutingKeyHeader(routingKey)));
  }

  // MLflow clients given …/v1/models/{name} as the server's base URL probe <base>/ping (or /health).
  @Get([':name/ping', ':name/health'])
  @RequireRole('scorer')
  @ApiOperation({ summary: "MLflow scoring server's health probes: 200 when the model (and the version asked for) resolves" })
  @VersionQuery()
  @AliasQuery()
  ping(@Auth() ctx: AuthContext, @Param('name') name: string, @Query() query: Record<string, unknown>) {
    return this.mlflow.ping(ctx, name, query);
  }
}
