import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole } from '../auth/auth.decorator';
import type { AuthContext } from '../auth/auth-context';
import { AuditService } from './audit.service';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequireRole('admin')
  @ApiOperation({ summary: "The tenant's audit log, newest first (root: every tenant's, or one with ?tenant=<id>)" })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'before', required: false, description: 'nextBefore of the previous page' })
  @ApiQuery({ name: 'action', required: false, example: 'model.version.create' })
  @ApiQuery({ name: 'tenant', required: false, description: 'root only' })
  list(@Auth() ctx: AuthContext, @Query() query: Record<string, string>) {
    return this.audit.listForCaller(ctx, query);
  }
}
