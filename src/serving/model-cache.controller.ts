import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { ServingService } from './serving.service';

const TARGET = {
  version: { type: 'integer', minimum: 1, description: 'default: the version a prediction would use' },
  alias: { type: 'string' },
};

@ApiTags('online inference')
@ApiBearerAuth()
@Controller()
export class ModelCacheController {
  constructor(private readonly serving: ServingService) {}

  @Post('v1/models/:name/load')
  @HttpCode(200)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Load a model version now (prewarm); {"pin": true} keeps it from eviction, false lets it go again' })
  @ApiBody({ required: false, schema: { type: 'object', properties: { pin: { type: 'boolean' }, ...TARGET } } })
  load(@Auth() ctx: AuthContext, @Param('name') name: string, @Body() body: unknown) {
    return this.serving.loadModel(ctx, name, body);
  }

  @Post('v1/models/:name/unload')
  @HttpCode(200)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Release a loaded version (or all of the model), pinned or not; running requests finish first' })
  @ApiBody({ required: false, schema: { type: 'object', properties: TARGET } })
  unload(@Auth() ctx: AuthContext, @Param('name') name: string, @Body() body: unknown) {
    return this.serving.unloadModel(ctx, name, body);
  }

  @Get('v1/cache')
  @RequireRole('publisher')
  @ApiOperation({ summary: "Loaded models with sizes, hits, misses, loads and evictions (the tenant's; everyone's for root)" })
  cache(@Auth() ctx: AuthContext) {
    return this.serving.cache(ctx);
  }
}
