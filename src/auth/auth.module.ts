import { Global, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { AuthGuard } from './auth.guard';
import { RootCredential } from './root-credential';

@Global()
@Module({
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
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [RootCredential],
})
export class AuthModule {}
