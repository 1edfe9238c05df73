import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { CreateTenantDto, UpdateTenantDto } from './dto/tenancy.dto';
import { TenancyService } from './tenancy.service';
import { refuseQueryParameters } from './tenancy.error';

@ApiTags('tenants')
@ApiBearerAuth()
@Controller('v1/tenants')
export class TenantsController {
  constructor(private readonly tenancy: TenancyService) {}

  @Post()
  @RequireRole('root')
  @ApiOperation({ summary: 'Create a tenant (root)' })
  createTenant(@Auth() ctx: AuthContext, @Body() body: CreateTenantDto) {
    return this.tenancy.createTenant(ctx, body.name);
  }

  @Get()
  @RequireRole('root')
  @ApiOperation({ summary: 'List tenants (root)' })
  listTenants(@Query() query: Record<string, unknown>) {
    refuseQueryParameters(query, 'GET /v1/tenants');
    return this.tenancy.listTenants();
  }

  @Get(':tenant')
  @RequireRole('admin')
  @ApiOperation({ summary: "A tenant and its limits (root, or the tenant's admin)" })
  getTenant(@Auth() ctx: AuthContext, @Param('tenant') tenant: string) {
    return this.tenancy.getTenant(ctx, tenant);
  }

  @Patch(':tenant')
  @RequireRole('root')
  @ApiOperation({ summary: 'Set quotas and limits of a tenant (root); null restores the default' })
  updateTenant(@Auth() ctx: AuthContext, @Param('tenant') tenant: string, @Body() body: UpdateTenantDto) {
    return this.tenancy.updateTenantLimits(ctx, tenant, body);
  }
}
