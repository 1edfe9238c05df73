import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, Min, MinLength, validateSync } from 'class-validator';
import * as os from 'node:os';
import * as path from 'node:path';

/** A number written in decimal, optionally signed, with a fraction or an exponent (`1e9`), blanks around it allowed. */
const DECIMAL_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * An unset variable keeps the default (an empty one is refused: not a number); anything else must
 * be a decimal number. `Number()` alone would read a blank value (`PORT=" "`, a stray space in an
 * env file) as 0, which for many settings means something of its own (a random port, no limit,
 * kept forever), and `0x10` as 16.
 */
const toDecimal = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return Number(value);
  const text = value.trim();
  return DECIMAL_NUMBER.test(text) ? Number(text) : Number.NaN;
};
const toInt = toDecimal;
const toNumber = toDecimal;
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

  /**
   * Most batch jobs of one tenant running at once (planning, scoring or committing); its later
   * jobs stay queued, oldest first, until one finishes. 0 = no limit.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(100_000)
  MMS_TENANT_MAX_RUNNING_BATCH_JOBS = 4;

  /** Default largest fraction of the session cache one tenant may hold while others have models loaded. */
  @Transform(toNumber)
  @IsNumber({}, { message: 'MMS_TENANT_CACHE_SHARE must be a number above 0 and at most 1' }) @Min(0.01) @Max(1)
  MMS_TENANT_CACHE_SHARE = 0.5;

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

  /** Nice levels below the HTTP thread at which inference workers run (Linux); 0 = the same priority. On one core, 0. */
  @Transform(toInt) @IsInt() @Min(0) @Max(19)
  MMS_WORKER_NICE = os.availableParallelism() > 1 ? 10 : 0;

  /** How long a small request waits for others to the same model to join its call; 0 = the same event-loop turn only. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000)
  MMS_BATCH_WINDOW_MS = 0;

  /** Largest merged micro-batch in rows; a request this big or bigger runs alone. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1_000_000)
  MMS_BATCH_MAX_ROWS = 1024;

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /** `json` (one JSON object per line, pino) or `pretty` (Nest's console format); unset → json when NODE_ENV=production, else pretty. */
  @IsOptional() @Transform(emptyToUndefined) @IsIn(['json', 'pretty'], { message: 'LOG_FORMAT must be json or pretty' })
  LOG_FORMAT?: 'json' | 'pretty';

  /**
   * How long a client has to send a whole request, headers and body (408 after); `0`: no limit.
   * Without one, a caller that never finishes its body holds its connection for good.
   */
  @Transform(toInt) @IsInt({ message: 'MMS_REQUEST_TIMEOUT_MS must be a whole number of milliseconds (0: no limit)' }) @Min(0) @Max(3_600_000)
  MMS_REQUEST_TIMEOUT_MS = 300_000;

  /**
   * How long a shutdown (SIGTERM, SIGINT) may take to answer what is in flight and flush; the
   * process then exits anyway (an inference call cannot be interrupted). `0`: no limit.
   */
  @Transform(toInt) @IsInt({ message: 'MMS_SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds (0: no limit)' }) @Min(0) @Max(3_600_000)
  MMS_SHUTDOWN_TIMEOUT_MS = 25_000;

  /** Bearer token accepted by GET /metrics besides the root credential (for the Prometheus scraper). */
  @IsOptional() @Transform(emptyToUndefined) @IsString() @MinLength(16, { message: 'MMS_METRICS_TOKEN must be at least 16 characters' })
  MMS_METRICS_TOKEN?: string;

  /** Models (per tenant and name) that get their own model/version labels in /metrics; the rest count under model="other". */
  @Transform(toInt) @IsInt() @Min(0) @Max(10_000)
  MMS_METRICS_MAX_MODELS = 100;

  /** Fraction of predictions written to the prediction log (for feedback and quality), 0–1. */
  @Transform(toNumber) @IsNumber({}, { message: 'MMS_PREDICTION_LOG_RATE must be a number from 0 to 1' }) @Min(0) @Max(1)
  MMS_PREDICTION_LOG_RATE = 1;

  /**
   * Predictions logged per second and process at most (after MMS_PREDICTION_LOG_RATE); `0`: no
   * budget. Below it every sampled prediction is logged; above it the log keeps a steady sample.
   */
  @Transform(toInt) @IsInt({ message: 'MMS_PREDICTION_LOG_MAX_PER_SECOND must be a whole number (0: no budget)' }) @Min(0) @Max(1_000_000)
  MMS_PREDICTION_LOG_MAX_PER_SECOND = 1000;

  /** Days a logged prediction (and its feedback) is kept, counted from the prediction. */
  @Transform(toInt) @IsInt() @Min(1) @Max(3650)
  MMS_PREDICTION_LOG_RETENTION_DAYS = 30;

  /** Seed the `demo` tenant on the first start of an empty embedded registry; `0` turns it off. */
  @Transform(({ value }: { value: unknown }) => (value === undefined || value === '' ? '1' : value))
  @IsIn(['0', '1'], { message: 'MMS_DEMO must be 0 (off) or 1 (on)' })
  MMS_DEMO: '0' | '1' = '1';

  /** Batch partitions this process works at once (0 = this process does not work the batch queue). */
  @Transform(toInt) @IsInt() @Min(0) @Max(256)
  MMS_BATCH_CONCURRENCY = Math.max(2, os.availableParallelism());

  /**
   * Threads doing batch partitions' per-row work (parsing staging rows, building tensors,
   * encoding output), so that it neither waits for nor blocks the main thread.
   */
  @Transform(toInt) @IsInt() @Min(1) @Max(64)
  MMS_BATCH_SCORING_THREADS = Math.max(1, Math.min(2, os.availableParallelism()));

  /** Largest batch partition in rows: a bigger segment is split into chunks of this many rows. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000_000)
  MMS_BATCH_PARTITION_ROWS = 100_000;

  /** A batch worker that stops renewing its lease for this long is presumed dead and its work is taken over. */
  @Transform(toInt) @IsInt() @Min(2) @Max(3600)
  MMS_BATCH_LEASE_SECONDS = 30;

  /**
   * How often a replica reads the traffic rules' fingerprint, to apply other replicas' changes
   * whose notification it missed (on PostgreSQL they arrive at once by LISTEN/NOTIFY).
   */
  @Transform(toInt) @IsInt() @Min(50) @Max(600_000)
  MMS_TRAFFIC_RULES_POLL_MS = 500;

  /** How often idle batch workers poll the queue and due schedules are looked for, in ms. */
  @Transform(toInt) @IsInt() @Min(50) @Max(60_000)
  MMS_BATCH_POLL_MS = 500;

  /**
   * Days a finished batch job (succeeded, failed or cancelled) is kept, files and rows, counted
   * from when it finished; 0 keeps jobs until they are deleted through the API.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(36_500)
  MMS_BATCH_RETENTION_DAYS = 30;

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

/** Variables whose value is a credential: a refusal names them and says how long the value was, never what it was. */
const SECRET_VARIABLES = new Set(['MMS_ADMIN_TOKEN', 'MMS_TOKEN_SECRET', 'MMS_METRICS_TOKEN']);

/** A database URL's password (postgres://user:password@host/db) masked: the rest helps find a mistake. */
export function withPasswordMasked(url: string): string {
  return url.replace(/(\/\/[^/:@]*:)[^@/]*@/, '$1***@');
}

/** A refused value as the start-up error shows it (it goes to the console, and so to the logs): credentials masked. */
function shownValue(variable: string, value: unknown): string {
  if (SECRET_VARIABLES.has(variable)) return `<${String(value ?? '').length} characters, not shown>`;
  if (typeof value === 'string') return JSON.stringify(withPasswordMasked(value));
  return JSON.stringify(value);
}

/** Builds the config from an environment, throwing a ConfigError that names each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const known = Object.keys(new AppConfig()).concat(['DATABASE_URL', 'MMS_ADMIN_TOKEN', 'MMS_TOKEN_SECRET', 'MMS_TLS_CERT', 'MMS_TLS_KEY', 'LOG_FORMAT', 'MMS_METRICS_TOKEN']);
  const raw = Object.fromEntries(Object.entries(env).filter(([key]) => known.includes(key)));
  const config = plainToInstance(AppConfig, raw, { exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false });
  if (errors.length) {
    const lines = errors.map((e) => {
      const why = Object.values(e.constraints ?? {}).join(', ');
      return `  ${e.property}=${shownValue(e.property, raw[e.property] ?? e.value)}: ${why}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  config.LOG_FORMAT ??= env.NODE_ENV === 'production' ? 'json' : 'pretty';
  if (Boolean(config.MMS_TLS_CERT) !== Boolean(config.MMS_TLS_KEY)) {
    throw new ConfigError('Invalid configuration:\n  MMS_TLS_CERT and MMS_TLS_KEY must be set together');
  }
  return config;
}
