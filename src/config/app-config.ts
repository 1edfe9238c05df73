import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';
import * as path from 'node:path';

const toInt = ({ value }: { value: unknown }) => (value === undefined || value === '' ? undefined : Number(value));
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/**
 * Every setting of the service, read once from the environment and validated at boot.
 * A bad value stops the process with a message naming the variable.
 */
export class AppConfig {
  /** HTTP port. */
  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 8080;

  /** Interface to listen on. */
  @IsString()
  HOST = '0.0.0.0';

  /** External PostgreSQL; unset → embedded PGlite in MMS_DATA_DIR/pg. */
  @IsOptional() @Transform(emptyToUndefined) @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  /** Data directory: embedded database, generated secrets, batch inputs and outputs. */
  @IsString() @MinLength(1)
  MMS_DATA_DIR = './data';

  /** Local model store (content-addressed artifacts). */
  @IsString() @MinLength(1)
  MMS_MODEL_STORE = './model-store';

  /** Root credential; unset on the embedded default → generated on first start. */
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(16, { message: 'MMS_ADMIN_TOKEN must be at least 16 characters' })
  MMS_ADMIN_TOKEN?: string;

  /** Largest accepted artifact upload, in bytes (default 256 MiB). */
  @Transform(toInt) @IsInt() @Min(1)
  MMS_MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;

  /** Database connection pool size per process. */
  @Transform(toInt) @IsInt() @Min(1) @Max(200)
  MMS_DB_POOL_SIZE = 10;

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  get usesEmbeddedDatabase(): boolean {
    return !this.DATABASE_URL;
  }

  get dataDir(): string {
    return path.resolve(this.MMS_DATA_DIR);
  }

  get modelStoreDir(): string {
    return path.resolve(this.MMS_MODEL_STORE);
  }
}

export class ConfigError extends Error {}

/** Builds the config from an environment, throwing a ConfigError that names each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig()).concat(['DATABASE_URL', 'MMS_ADMIN_TOKEN']);
  const raw = Object.fromEntries(Object.entries(env).filter(([key]) => known.includes(key)));
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false });
  if (errors.length) {
    const lines = errors.map((e) => {
      const why = Object.values(e.constraints ?? {}).join(', ');
      return `  ${e.property}=${JSON.stringify(e.value)}: ${why}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}
