import { Global, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { ApiKeysRepository } from '../tenancy/api-keys.repository';
import { KeysController } from '../tenancy/keys.controller';
import { TenancyService } from '../tenancy/tenancy.service';
import { TenantsController } from '../tenancy/tenants.controller';
import { TenantsRepository } from '../tenancy/tenants.repository';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { Authenticator } from './authenticator.service';
import { CredentialFirst } from './credential-first';
import { CredentialResolver } from './credential-resolver.service';
import { RootCredential } from './root-credential';
import { TokenService } from './token.service';

/** Credentials, tenants and keys: one module, since the guard needs tenants and tenants revoke credentials. */
@Global()
@Module({
  controllers: [AuthController, TenantsController, KeysController],
  providers: [
    {
      provide: RootCredential,
      useFactory: (config: AppConfig) => {
        const root = RootCredential.resolve(config);
        if (root.generatedToken) {
          // Shown once: only its hash is stored.
          new Logger('Auth').log(`Generated the root credential (shown once, stored hashed in ${config.dataDir}):`);
          process.stdout.write(`\n  Root token: ${root.generatedToken}\n\n`);
        }
        return root;
      },
      inject: [AppConfig],
    },
    TokenService,
    CredentialResolver,
    TenantsRepository,
    ApiKeysRepository,
    TenancyService,
    Authenticator,
    CredentialFirst,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [RootCredential, TenancyService, TenantsRepository, CredentialResolver, Authenticator],
})
export class AuthModule {}
