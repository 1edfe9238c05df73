import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { CommonError, CommonErrorCode } from '../common/domain-error';
import { SetAliasDto } from './dto/set-alias.dto';
import { UpdateModelDto } from './dto/update-model.dto';
import { RegistryService } from './registry.service';

@ApiTags('registry')
@ApiBearerAuth()
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly registry: RegistryService) {}

  @Post(':name/versions')
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Register a new version (an .onnx file or a zipped MLflow model with an onnx flavor)' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['artifact'],
      properties: {
        artifact: { type: 'string', format: 'binary' },
        segment: { type: 'string', description: 'JSON object of strings, e.g. {"region":"north","store":"0042"}' },
        tags: { type: 'string', description: 'JSON object of strings' },
        description: { type: 'string' },
      },
    },
  })
  @ApiResponse({ status: 201, description: 'The new version with its signature' })
  @ApiResponse({ status: 413, description: 'Artifact larger than MMS_MAX_ARTIFACT_BYTES' })
  @ApiResponse({ status: 422, description: 'The artifact does not load in the runtime' })
  registerVersion(@Auth() ctx: AuthContext, @Param('name') name: string, @Req() req: FastifyRequest) {
    if (!req.isMultipart()) {
      throw new CommonError(CommonErrorCode.UnsupportedMediaType, 'Send the artifact as multipart/form-data with a part named artifact');
    }
    return this.registry.registerVersion(ctx, name, req.parts());
  }

  @Get()
  @RequireRole('scorer')
  @ApiOperation({ summary: 'List models, filtered by segment keys (segment.<key>=v), tags (tag.<key>=v) and name substring (q)' })
  @ApiQuery({ name: 'q', required: false })
  @ApiQuery({ name: 'limit', required: false, description: '1–1000, default 50' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  listModels(@Auth() ctx: AuthContext, @Query() query: Record<string, unknown>) {
    return this.registry.listModels(ctx, query);
  }

  @Get(':name')
  @RequireRole('scorer')
  @ApiOperation({ summary: 'A model with its versions, aliases, segment and tags' })
  getModel(@Auth() ctx: AuthContext, @Param('name') name: string) {
    return this.registry.getModel(ctx, name);
  }

  @Patch(':name')
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Change description, or merge-patch tags and segment (null removes a key)' })
  updateModel(@Auth() ctx: AuthContext, @Param('name') name: string, @Body() body: UpdateModelDto) {
    return this.registry.updateModel(ctx, name, body);
  }

  @Delete(':name')
  @HttpCode(204)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Delete a model with all its versions and aliases' })
  async deleteModel(@Auth() ctx: AuthContext, @Param('name') name: string) {
    await this.registry.deleteModel(ctx, name);
  }

  @Get(':name/versions/:version')
  @RequireRole('scorer')
  @ApiOperation({ summary: 'One version' })
  getVersion(@Auth() ctx: AuthContext, @Param('name') name: string, @Param('version') version: string) {
    return this.registry.getVersion(ctx, name, version);
  }

  @Delete(':name/versions/:version')
  @HttpCode(204)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Delete a version (409 while an alias or the traffic rule points at it)' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiResponse({ status: 409, description: 'An alias or the traffic rule still points at the version' })
  async deleteVersion(@Auth() ctx: AuthContext, @Param('name') name: string, @Param('version') version: string) {
    await this.registry.deleteVersion(ctx, name, version);
  }

  @Put(':name/aliases/:alias')
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Point an alias (e.g. production, staging) at a version' })
  setAlias(@Auth() ctx: AuthContext, @Param('name') name: string, @Param('alias') alias: string, @Body() body: SetAliasDto) {
    return this.registry.setAlias(ctx, name, alias, body.version);
  }

  @Delete(':name/aliases/:alias')
  @HttpCode(204)
  @RequireRole('publisher')
  @ApiOperation({ summary: 'Remove an alias' })
  async deleteAlias(@Auth() ctx: AuthContext, @Param('name') name: string, @Param('alias') alias: string) {
    await this.registry.deleteAlias(ctx, name, alias);
  }
}
