import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** The two facts that decide whether a start seeds the demo. */
@Injectable()
export class DemoRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** True when no tenant has any model yet and no tenant is named `name`: a first start. */
  async isFreshRegistry(name: string): Promise<boolean> {
    const [row] = (await this.dataSource.query(
      'SELECT NOT EXISTS (SELECT 1 FROM models) AND NOT EXISTS (SELECT 1 FROM tenants WHERE name = $1) AS fresh',
      [name],
    )) as Array<{ fresh: boolean }>;
    return row.fresh;
  }
}
