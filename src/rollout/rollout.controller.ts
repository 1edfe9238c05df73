import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { RolloutService } from './rollout.service';

const TRAFFIC_BODY = {
  schema: {
    type: 'object',
    example: { split: { '3': 90, '4': 10 }, mirror: { version: 5, percent: 20 } },
    properties: {
      split: { type: 'object', additionalProperties: { type: 'number' }, description: 'version → percent; sums to 100' },
      mirror: { type: 'object', properties: { version: { type: 'integer' }, percent: { type: 'number' } } },
    },
  },
};

const ROLLOUT_BODY = {
  schema: {
    type: 'object',
    example: { kind: 'alias', alias: 'production', to: 'latest', selector: { tags: { family: 'demand' } } },
    required: ['kind', 'selector'],
    properties: {
      kind: { type: 'string', enum: ['alias', 'mirror'] },
      alias: { type: 'string', description: "kind 'alias': the alias to move to each model's latest version" },
      percent: { type: 'number', description: "kind 'mirror': percent of traffic mirrored to each model's latest version" },
      to: { type: 'string', enum: ['latest'] },
      selector: { type: 'object', properties: { segment: { type: 'object' }, tags: { type: 'object' }, q: { type: 'string' } } },
    },
  },
};

@ApiTags('rollout')
@ApiBearerAuth()
@Controller('v1')
export class RolloutController {
  constructor(private readonly rollout: RolloutService) {}

  @Put('models/:name/traffic')
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Set the traffic rule: split over versions and/or a mirror (shadow) version; versions are loaded first' })
  @ApiBody(TRAFFIC_BODY)
  setTraffic(@Auth() ctx: AuthContext, @Param('name') name: string, @Body() body: unknown) {
    return this.rollout.setTraffic(ctx, name, body);
  }

  @Get('models/:name/traffic')
  @RequireRole('scorer')
  @ApiOperation({ summary: 'The traffic rule with shadow-versus-primary comparison figures' })
  getTraffic(@Auth() ctx: AuthContext, @Param('name') name: string) {
    return this.rollout.getTraffic(ctx, name);
  }

  @Delete('models/:name/traffic')
  @HttpCode(204)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Remove the traffic rule (requests fall back to alias production, then the latest version)' })
  async deleteTraffic(@Auth() ctx: AuthContext, @Param('name') name: string) {
    await this.rollout.deleteTraffic(ctx, name);
  }

  @Post('rollouts')
  @RequireRole('publisher')
  @ApiOperation({ summary: "Bulk: move an alias, or set a mirror, to the latest version of every model a selector matches, atomically" })
  @ApiBody(ROLLOUT_BODY)
  createRollout(@Auth() ctx: AuthContext, @Body() body: unknown) {
    return this.rollout.createRollout(ctx, body);
  }

  @Get('rollouts')
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Bulk rollouts, newest first, a page at a time' })
  @ApiQuery({ name: 'limit', required: false, description: '1–100, default 100' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  listRollouts(@Auth() ctx: AuthContext, @Query() query: Record<string, unknown>) {
    return this.rollout.listRollouts(ctx, query);
  }

  @Get('rollouts/:id')
  @RequireRole('publisher')
  @ApiOperation({ summary: 'One rollout with every model it changed (before and after)' })
  getRollout(@Auth() ctx: AuthContext, @Param('id') id: string) {
    return this.rollout.getRollout(ctx, id);
  }

  @Post('rollouts/:id/rollback')
  @HttpCode(200)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Put every model back where the rollout found it, atomically' })
  rollback(@Auth() ctx: AuthContext, @Param('id') id: string) {
    return this.rollout.rollback(ctx, id);
  }
}
