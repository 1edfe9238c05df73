import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ArtifactInspector } from './artifact/artifact-inspector.service';
import { OnnxInspector } from './artifact/onnx-inspector';
import { ModelsController } from './models.controller';
import { ModelsRepository } from './models.repository';
import { RegistryEvents } from './registry-events';
import { RegistryService } from './registry.service';
import { LocalModelStore } from './store/local-model-store';
import { ModelStore } from './store/model-store';
import { StoreSweeper } from './store/store-sweeper.service';

@Module({
  controllers: [ModelsController],
  providers: [
    {
      provide: ModelStore,
      useFactory: async (config: AppConfig) => {
        const store = new LocalModelStore(config.modelStoreDir);
        await store.init();
        return store;
      },
      inject: [AppConfig],
    },
    ModelsRepository,
    OnnxInspector,
    ArtifactInspector,
    RegistryService,
    RegistryEvents,
    StoreSweeper,
  ],
  exports: [ModelStore, ModelsRepository, RegistryService, RegistryEvents],
})
export class RegistryModule {}
