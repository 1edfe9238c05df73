import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry/registry.module';
import { DemoSeeder } from './demo-seeder.service';
import { DemoRepository } from './demo.repository';

/** Seeds the demo tenant on the first start of the embedded default (MMS_DEMO=0 turns it off). */
@Module({
  imports: [RegistryModule],
  providers: [DemoRepository, DemoSeeder],
})
export class DemoModule {}
