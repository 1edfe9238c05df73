import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Multipart } from '@fastify/multipart';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { AuthContext, DEFAULT_TENANT_ID } from '../auth/auth-context';
import { RootCredential } from '../auth/root-credential';
import { inParallel } from '../common/in-parallel';
import { AppConfig } from '../config/app-config';
import { UpdateModelDto } from '../registry/dto/update-model.dto';
import { RegistryService } from '../registry/registry.service';
import { CreateKeyDto } from '../tenancy/dto/tenancy.dto';
import { TenancyErrorCode } from '../tenancy/tenancy.error';
import { TenancyService } from '../tenancy/tenancy.service';
import { demoBanner } from './demo-banner';
import { writeDemoFiles } from './demo-files';
import type { DemoModelPlan } from './demo-models';
import { DemoRepository } from './demo.repository';
import { generateRetailData } from './retail-data';

export const DEMO_TENANT = 'demo';
/** Who the audit log names for what the seeding did. */
const PRINCIPAL = 'system:demo-seed';
/** Registrations in flight at once: the inspection (onnxruntime) and the fsync overlap with the database. */
const CONCURRENCY = 4;

/**
 * On the first start of the embedded default (no model in any tenant, no `demo` tenant yet),
 * creates the `demo` tenant with per-store demand models trained from generated sales, a
 * scorer key and a CSV for a batch run, then prints how to use them. It runs after the server
 * started (so /health/ready is not held up) and only once: the `demo` tenant marks it done.
 */
@Injectable()
export class DemoSeeder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Demo');
  private seeding: Promise<void> | null = null;
  private stopping = false;
  private stop!: () => void;
  private readonly stopped = new Promise<void>((resolve) => (this.stop = resolve));

  constructor(
    private readonly config: AppConfig,
    private readonly demo: DemoRepository,
    private readonly registry: RegistryService,
    private readonly tenancy: TenancyService,
    private readonly root: RootCredential,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.MMS_DEMO === '0' || !this.config.usesEmbeddedDatabase) return;
    this.seeding = this.seedIfFresh().catch((error: Error) => {
      if (!this.stopping) this.logger.warn(`The demo tenant could not be seeded: ${error.message}`);
    });
  }

  /** Let a seeding in progress finish before the database closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.stop();
    await this.seeding;
  }

  private async seedIfFresh(): Promise<void> {
    if (!(await this.demo.isFreshRegistry(DEMO_TENANT))) return;
    const started = Date.now();
    const stores = generateRetailData();
    // Loaded only here: the builder pulls in the ONNX protobuf schema, which no other start needs.
    const { planDemoModels } = await import('./demo-models');
    const plans = await planDemoModels(stores);
    const trainedIn = (Date.now() - started) / 1000;

    const system: AuthContext = { tenantId: DEFAULT_TENANT_ID, role: 'root', principal: PRINCIPAL, keyId: null, via: 'root', modelScope: null };
    let tenantId: string;
    try {
      tenantId = (await this.tenancy.createTenant(system, DEMO_TENANT)).id;
    } catch (error) {
      if ((error as { code?: string }).code === TenancyErrorCode.TenantExists) return;
      throw error;
    }
    const admin: AuthContext = { tenantId, role: 'admin', principal: PRINCIPAL, keyId: null, via: 'root', modelScope: null };
    await inParallel(plans, CONCURRENCY, (plan) => this.registerModel(admin, plan));
    const key = await this.tenancy.createKey(admin, tenantId, { role: 'scorer', description: 'demo scorer key, created at first start' } as CreateKeyDto);
    const files = await writeDemoFiles(this.config.dataDir, stores);
    const seconds = (Date.now() - started) / 1000;
    const versions = plans.reduce((n, p) => n + p.versions.length, 0);
    this.logger.log(`Seeded tenant '${DEMO_TENANT}': ${plans.length} models, ${versions} versions in ${seconds.toFixed(1)} s (training ${trainedIn.toFixed(1)} s)`);

    const url = await this.listeningUrl();
    if (!url) return;
    const example = stores.find((s) => !s.isNew)!;
    const newStore = stores.find((s) => s.isNew && s.region === example.region);
    process.stdout.write(
      demoBanner({
        url,
        rootToken: this.root.generatedToken,
        rootFromEnv: Boolean(this.config.MMS_ADMIN_TOKEN),
        scorerKey: key.key,
        regions: [...new Set(stores.map((s) => s.region))],
        storeModels: plans.filter((p) => p.segment.store).length,
        storeFamilies: {
          linear: plans.filter((p) => p.segment.store && p.versions[0].algo === 'linear').length,
          gbt: plans.filter((p) => p.segment.store && p.versions[0].algo === 'gbt').length,
        },
        example: { region: example.region, store: example.store, features: example.forecast[0].features },
        fallbackStore: newStore?.store ?? null,
        csvPath: displayPath(files.csv),
        jobPath: displayPath(files.job),
      }),
    );
  }

  /** Its versions in order, then alias `production` where the plan keeps both families. */
  private async registerModel(ctx: AuthContext, plan: DemoModelPlan): Promise<void> {
    for (const version of plan.versions) {
      // Both families' holdout errors on every version, so the choice can be checked.
      const tags = { family: 'demand', algo: version.algo, mae_linear: String(plan.holdoutMae.linear), mae_gbt: String(plan.holdoutMae.gbt) };
      await this.registry.registerVersion(ctx, plan.name, multipart(version.bytes, `${plan.name}.onnx`, { segment: plan.segment, tags, description: version.description }));
    }
    if (plan.production) {
      await this.registry.setAlias(ctx, plan.name, 'production', plan.production);
      // The model's description is its first version's; one that covers both reads better.
      await this.registry.updateModel(ctx, plan.name, { description: plan.description } as UpdateModelDto);
    }
  }

  /** The address the server listens on, once it does (null when the app stops first). */
  private async listeningUrl(): Promise<string | null> {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as import('node:net').Server | undefined;
    if (!server) return null;
    if (!server.listening) await Promise.race([once(server, 'listening'), this.stopped]);
    const address = server.address() as AddressInfo | null;
    if (!address || this.stopping) return null;
    const host = ['0.0.0.0', '::'].includes(this.config.HOST) ? '127.0.0.1' : this.config.HOST;
    return `${this.config.MMS_TLS_CERT ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }
}

/** The parts of a version upload, as @fastify/multipart would hand them to RegistryService. */
async function* multipart(bytes: Buffer, filename: string, fields: { segment: object; tags: object; description: string }): AsyncGenerator<Multipart> {
  yield { type: 'file', fieldname: 'artifact', filename, file: Readable.from([bytes]) } as unknown as Multipart;
  for (const [name, value] of Object.entries({ segment: JSON.stringify(fields.segment), tags: JSON.stringify(fields.tags), description: fields.description })) {
    yield { type: 'field', fieldname: name, value, valueTruncated: false } as unknown as Multipart;
  }
}

/** Relative to the working directory when inside it (what a user pastes), else absolute. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
