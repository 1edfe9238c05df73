import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Auth, RequireRole } from './auth.decorator';
import type { AuthContext } from './auth-context';
import { AuthError, AuthErrorCode } from './auth.error';
import { TokenService } from './token.service';

@ApiTags('auth')
@ApiBearerAuth()
@Controller('v1/auth')
export class AuthController {
  constructor(private readonly tokens: TokenService) {}

  @Post('token')
  @HttpCode(200)
  @RequireRole('scorer')
  @ApiOperation({ summary: 'Exchange an API key (as bearer) for a short-lived signed token with the same tenant, role and model scope' })
  issueToken(@Auth() ctx: AuthContext) {
    // Tokens are minted from keys only, so revoking the key ends every token made from it.
    if (ctx.via !== 'key' || !ctx.keyId || ctx.role === 'root') {
      throw new AuthError(AuthErrorCode.InvalidRequest, 'Send an API key (mmsk_…) as the bearer to get a token');
    }
    return this.tokens.issue(
      { keyId: ctx.keyId, tenantId: ctx.tenantId, role: ctx.role, models: ctx.modelScope ? [...ctx.modelScope] : null },
      ctx.keyExpiresAt ?? null,
    );
  }
}
