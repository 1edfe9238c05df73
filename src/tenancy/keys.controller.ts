import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { CreateKeyDto } from './dto/tenancy.dto';
import { TenancyService } from './tenancy.service';
import { refuseQueryParameters } from './tenancy.error';

@ApiTags('tenants')
@ApiBearerAuth()
@RequireRole('admin')
@Controller('v1/tenants/:tenant/keys')
export class KeysController {
  constructor(private readonly tenancy: TenancyService) {}

  @Post()
  @ApiOperation({ summary: "Create an API key (root, or the tenant's admin); the key is shown once" })
  createKey(@Auth() ctx: AuthContext, @Param('tenant') tenant: string, @Body() body: CreateKeyDto) {
    return this.tenancy.createKey(ctx, tenant, body);
  }

  @Get()
  @ApiOperation({ summary: 'List the keys of a tenant (never their secrets)' })
  listKeys(@Auth() ctx: AuthContext, @Param('tenant') tenant: string, @Query() query: Record<string, unknown>) {
    refuseQueryParameters(query, 'GET /v1/tenants/{tenant}/keys');
    return this.tenancy.listKeys(ctx, tenant);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a key at once (tokens made from it stop working too)' })
  async revokeKey(@Auth() ctx: AuthContext, @Param('tenant') tenant: string, @Param('id') id: string) {
    await this.tenancy.revokeKey(ctx, tenant, id);
  }
}
