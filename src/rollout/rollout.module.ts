import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry/registry.module';
import { RolloutTrafficRouter } from './rollout-traffic-router';
import { RuleChangePrewarmer } from './rule-change-prewarmer';
import { RolloutController } from './rollout.controller';
import { RolloutRepository } from './rollout.repository';
import { RolloutService } from './rollout.service';
import { ShadowMonitor } from './shadow-monitor';
import { TrafficMirror } from './traffic-mirror.service';
import { TrafficRulesStore } from './traffic-rules.store';

/** Traffic rules, mirroring and bulk rollouts; VersionPrewarmer comes from the (global) serving module. */
@Module({
  imports: [RegistryModule],
  controllers: [RolloutController],
  providers: [RolloutRepository, TrafficRulesStore, ShadowMonitor, RolloutService, RolloutTrafficRouter, TrafficMirror, RuleChangePrewarmer],
  exports: [TrafficRulesStore, ShadowMonitor, RolloutTrafficRouter, TrafficMirror],
})
export class RolloutModule {}
