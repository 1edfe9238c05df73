import { Injectable } from '@nestjs/common';
import * as fsp from 'node:fs/promises';
import { AppConfig } from '../config/app-config';
import { TenantsRepository } from '../tenancy/tenants.repository';
import { resolveInputPath } from './io/data-path';

/** Where a job's input is, checked against what its tenant may read of the shared data directory. */
@Injectable()
export class BatchInputs {
  constructor(
    private readonly config: AppConfig,
    private readonly tenants: TenantsRepository,
  ) {}

  /** The input file's real path; 400 INVALID_INPUT_URI or INPUT_NOT_FOUND otherwise (see resolveInputPath). */
  async resolve(tenantId: string, uri: string): Promise<string> {
    // Every other tenant's name: which data-directory folders this tenant's jobs must not read.
    const otherTenants = new Set((await this.tenants.listTenants()).filter((t) => t.id !== tenantId).map((t) => t.name));
    const modelStore = await fsp.realpath(this.config.modelStoreDir).catch(() => this.config.modelStoreDir);
    return resolveInputPath(this.config.dataDir, uri, { tenantId, otherTenants, privateDirs: [modelStore] });
  }
}
