import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';
import * as os from 'node:os';
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

  /** Secret for signing short-lived tokens; unset → generated and kept in the data directory. */
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(32, { message: 'MMS_TOKEN_SECRET must be at least 32 characters' })
  MMS_TOKEN_SECRET?: string;

  /** Lifetime of tokens from POST /v1/auth/token. */
  @Transform(toInt) @IsInt() @Min(30) @Max(24 * 3600)
  MMS_TOKEN_TTL_SECONDS = 900;

  /** Default per-tenant request rate (requests/s, per process); 0 = unlimited. Tenants can override. */
  @Transform(toInt) @IsInt() @Min(0)
  MMS_TENANT_RATE_LIMIT = 0;

  /** Default per-tenant quota on the number of models; 0 = unlimited. */
  @Transform(toInt) @IsInt() @Min(0)
  MMS_TENANT_MAX_MODELS = 0;

  /** Default per-tenant quota on stored artifact bytes (sum over versions); 0 = unlimited. */
  @Transform(toInt) @IsInt() @Min(0)
  MMS_TENANT_MAX_ARTIFACT_BYTES = 0;

  /** PEM files for HTTPS; both or neither. */
  @IsOptional() @Transform(emptyToUndefined) @IsString()
  MMS_TLS_CERT?: string;

  @IsOptional() @Transform(emptyToUndefined) @IsString()
  MMS_TLS_KEY?: string;

  /** Session cache bound: estimated bytes of all loaded models (see README "Online inference"). Default 1 GiB. */
  @Transform(toInt) @IsInt() @Min(1024 * 1024, { message: 'MMS_CACHE_MAX_BYTES must be at least 1048576 (1 MiB)' })
  MMS_CACHE_MAX_BYTES = 1024 * 1024 * 1024;

  /** Session cache bound: number of loaded model versions. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  MMS_CACHE_MAX_MODELS = 2000;

  /** Inference worker threads; default one per core. */
  @Transform(toInt) @IsInt() @Min(1) @Max(256)
  MMS_WORKERS = Math.max(1, os.availableParallelism());

  /** How long a small request waits for others to the same model to join its call; 0 = the same event-loop turn only. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000)
  MMS_BATCH_WINDOW_MS = 0;

  /** Largest merged micro-batch in rows; a request this big or bigger runs alone. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  MMS_BATCH_MAX_ROWS = 1024;

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
  const known = Object.keys(new AppConfig()).concat(['DATABASE_URL', 'MMS_ADMIN_TOKEN', 'MMS_TOKEN_SECRET', 'MMS_TLS_CERT', 'MMS_TLS_KEY']);
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
  if (Boolean(config.MMS_TLS_CERT) !== Boolean(config.MMS_TLS_KEY)) {
    throw new ConfigError('Invalid configuration:\n  MMS_TLS_CERT and MMS_TLS_KEY must be set together');
  }
  return config;
}
