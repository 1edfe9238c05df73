import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsISO8601, IsInt, IsNumber, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { KEY_ROLES, type KeyRole } from '../../auth/auth-context';
import { MODEL_GLOB } from '../../auth/model-scope';

export const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class CreateTenantDto {
  @ApiProperty({ example: 'acme-retail', pattern: TENANT_NAME.source })
  @IsString() @Matches(TENANT_NAME, { message: `name must match ${TENANT_NAME.source}` })
  name: string;
}

export class CreateKeyDto {
  @ApiProperty({ enum: KEY_ROLES })
  @IsIn(KEY_ROLES as string[])
  role: KeyRole;

  @ApiPropertyOptional({ type: [String], example: ['demand-*'], description: 'scorer keys only: model-name globs (* and ?)' })
  @IsOptional() @IsArray() @ArrayMaxSize(100) @Matches(MODEL_GLOB, { each: true, message: `each models entry must match ${MODEL_GLOB.source}` })
  models?: string[];

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  // A string checked strictly: converted to a Date first, 2027-02-30 would be 2027-03-02 and a number epoch milliseconds.
  @IsOptional() @IsISO8601({ strict: true }, { message: 'expiresAt must be an ISO 8601 date-time' })
  expiresAt?: string;

  @ApiPropertyOptional()
  @IsOptional() @IsString() @MaxLength(500)
  description?: string;
}

/** The largest value of the `integer` columns the limits are kept in (beyond it the database refuses: a 500). */
const INT4_MAX = 2_147_483_647;

/** Limits a root may set on a tenant; null restores the service default. */
export class UpdateTenantDto {
  @ApiPropertyOptional({ nullable: true, type: 'integer', minimum: 0, maximum: INT4_MAX })
  @ValidateIf((_o, v) => v !== null) @IsOptional() @IsInt() @Min(0) @Max(INT4_MAX)
  maxModels?: number | null;

  @ApiPropertyOptional({ nullable: true, type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
  @ValidateIf((_o, v) => v !== null) @IsOptional() @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER)
  maxArtifactBytes?: number | null;

  @ApiPropertyOptional({ nullable: true, type: 'integer', minimum: 0, maximum: INT4_MAX, description: 'requests per second per process; 0 = unlimited' })
  @ValidateIf((_o, v) => v !== null) @IsOptional() @IsInt() @Min(0) @Max(INT4_MAX)
  rateLimitPerSecond?: number | null;

  @ApiPropertyOptional({ nullable: true, type: Number, minimum: 0.01, maximum: 1, description: 'fraction of the session cache the tenant keeps when the cache is full, from 0.01 to 1; free room it may use beyond it' })
  @ValidateIf((_o, v) => v !== null) @IsOptional() @IsNumber() @Min(0.01) @Max(1)
  cacheShare?: number | null;

  @ApiPropertyOptional({ nullable: true, type: 'integer', minimum: 0, maximum: INT4_MAX, description: "batch jobs of the tenant running at once, its later ones wait queued; 0 = no limit" })
  @ValidateIf((_o, v) => v !== null) @IsOptional() @IsInt() @Min(0) @Max(INT4_MAX)
  maxRunningBatchJobs?: number | null;
}
