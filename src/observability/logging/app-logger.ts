import { ConsoleLogger, LoggerService, LogLevel } from '@nestjs/common';
import pino, { DestinationStream, Level, Logger as PinoLogger } from 'pino';
import type { AppConfig } from '../../config/app-config';

const NEST_LEVELS: readonly LogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];
const PINO_LEVEL: Record<AppConfig['LOG_LEVEL'], Level> = { error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };

/** Structured fields that must never reach a log line, wherever they appear. */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.headers.authorization',
  'cookie',
  '*.cookie',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
];

const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/\b(mmsk_[a-z2-7]{16}_)[A-Za-z0-9_-]{10,}/g, '$1[REDACTED]'],
  [/\bmms_root_[A-Za-z0-9_-]+/g, 'mms_root_[REDACTED]'],
  [/\b(Bearer\s+)[^\s"',;]+/gi, '$1[REDACTED]'],
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+/g, '[REDACTED_TOKEN]'],
];

/** Masks credentials in free text (a message that quotes a header or a key by mistake). */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Query parameters whose value is a credential by its name (`?token=…`, `?api_key=…`), whatever the value looks like. */
const CREDENTIAL_QUERY = /([?&](?:(?:access_|id_|refresh_|auth_)?token|api[_-]?key|apikey|key|(?:client_)?secret|password|passwd|auth|authorization|jwt|bearer|sig|signature|credentials?)=)[^&#]*/gi;
/** Cheap first look: text without any of these holds none of the credentials masked below. */
const MAY_HOLD_CREDENTIAL = /[?]|mms|eyJ|earer/;

/**
 * Masks credentials in what a caller put in a request line (the URL, a model name, a request
 * id): a key or token sent in a query string or a path by mistake must not land in the log.
 */
export function scrubRequestText(text: string): string {
  return MAY_HOLD_CREDENTIAL.test(text) ? scrubSecrets(text.replace(CREDENTIAL_QUERY, '$1[REDACTED]')) : text;
}

/** One finished request, for the request log. */
export interface RequestLogFields {
  reqId: string;
  method: string;
  route: string;
  url: string;
  status: number;
  latencyMs: number;
  tenant: string | null;
  principal: string | null;
  model?: string;
  version?: string;
  predictionId?: string;
}

/** Where request lines go: a JSON line per request, or a human line at debug level. */
export interface RequestLog {
  request(fields: RequestLogFields, quiet: boolean): void;
}

/**
 * Nest's LoggerService on pino: one JSON object per line on stdout with level, time, pid,
 * hostname, context and msg; structured credentials redacted, and keys or tokens quoted in
 * a message masked.
 */
export class JsonLogger implements LoggerService, RequestLog {
  readonly pino: PinoLogger;
  /** Request lines: fields built by the request observer, whose caller-given text is scrubbed there (scrubRequestText), so no redaction pass (it costs more than the line). */
  private readonly requests: PinoLogger;

  constructor(level: AppConfig['LOG_LEVEL'], destination?: DestinationStream) {
    // Asynchronous, unbuffered: lines leave promptly without a write() per line blocking the event loop.
    const dest = destination ?? pino.destination({ dest: 1, sync: false });
    const options = { level: PINO_LEVEL[level], timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label: string) => ({ level: label }) } };
    this.pino = pino({ ...options, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } }, dest);
    this.requests = pino(options, dest).child({ context: 'Http' });
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    if (isBootFailure(params)) return;
    this.write('error', message, params, true);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params, true);
  }

  request(fields: RequestLogFields, quiet: boolean): void {
    // A probe answering 503 (degraded) is worth a warning, not an error line every few seconds.
    const level: Level = fields.status >= 500 ? (quiet ? 'warn' : 'error') : quiet ? 'debug' : 'info';
    if (!this.requests.isLevelEnabled(level)) return;
    this.requests[level](fields, 'request completed');
  }

  /** Writes what is still buffered (before the process exits). */
  flush(): void {
    this.pino.flush();
  }

  /**
   * Nest calls `log(message, context)` and `error(message, stack, context)`; the context is
   * the last string parameter when there is more than the message.
   */
  private write(level: Level, message: unknown, params: unknown[], mayHaveStack = false): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const rest = [...params];
    let context: string | undefined;
    if (rest.length && typeof rest[rest.length - 1] === 'string') context = rest.pop() as string;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (mayHaveStack && typeof rest[0] === 'string') fields.stack = scrubSecrets(rest.shift() as string);
    rest.forEach((extra, i) => {
      if (extra === undefined) return;
      if (extra !== null && typeof extra === 'object' && !Array.isArray(extra) && !(extra instanceof Error)) Object.assign(fields, extra);
      else fields[`param${i}`] = extra;
    });
    if (message instanceof Error) {
      fields.err = { type: message.name, message: scrubSecrets(message.message), stack: message.stack ? scrubSecrets(message.stack) : undefined };
      this.pino[level](fields, scrubSecrets(message.message));
    } else if (message !== null && typeof message === 'object') {
      this.pino[level]({ ...fields, ...(message as Record<string, unknown>) });
    } else {
      this.pino[level](fields, scrubSecrets(String(message)));
    }
  }
}

/**
 * Nest's own console format for people at a terminal (and test output), with credentials in
 * messages masked too. Request lines are printed at debug level only, so that a busy service
 * stays readable.
 */
export class PrettyLogger extends ConsoleLogger implements RequestLog {
  private readonly requestsEnabled: boolean;

  constructor(level: AppConfig['LOG_LEVEL']) {
    const levels = NEST_LEVELS.slice(0, NEST_LEVELS.indexOf(level) + 1);
    super({ logLevels: levels, redact: ['authorization', 'cookie', 'apiKey', 'token', 'secret', 'password'] });
    this.requestsEnabled = levels.includes('debug');
  }

  request(f: RequestLogFields, quiet: boolean): void {
    if (!this.requestsEnabled && f.status < 500) return;
    const who = [f.tenant && `tenant ${f.tenant}`, f.model && `model ${f.model}${f.version ? ` v${f.version}` : ''}`].filter(Boolean).join(', ');
    const line = `${f.method} ${f.url} ${f.status} ${f.latencyMs.toFixed(1)} ms [${f.reqId}]${who ? ` (${who})` : ''}`;
    if (f.status >= 500 && quiet) this.warn(line, 'Http');
    else if (f.status >= 500) this.error(line, 'Http');
    else this.debug(line, 'Http');
  }

  error(message: unknown, ...params: unknown[]): void {
    if (isBootFailure(params)) return;
    super.error(message, ...(params as [string?, string?]));
  }

  protected printMessages(messages: unknown[], context?: string, logLevel?: LogLevel, writeStreamType?: 'stdout' | 'stderr', errorStack?: unknown, params?: Record<string, unknown>): void {
    const scrubbed = messages.map((m) => (typeof m === 'string' ? scrubSecrets(m) : m));
    super.printMessages(scrubbed, context, logLevel, writeStreamType, typeof errorStack === 'string' ? scrubSecrets(errorStack) : errorStack, params);
  }
}

/**
 * Nest logs a boot failure with its stack (context ExceptionHandler) before rethrowing it;
 * main.ts reports it in one line (bad config, a locked data directory are the user's to fix).
 */
function isBootFailure(params: unknown[]): boolean {
  return params[params.length - 1] === 'ExceptionHandler';
}

export type AppLogger = (JsonLogger | PrettyLogger) & LoggerService & RequestLog;

/** The process's logger, as LOG_FORMAT and LOG_LEVEL say. */
export function createAppLogger(config: Pick<AppConfig, 'LOG_FORMAT' | 'LOG_LEVEL'>, destination?: DestinationStream): AppLogger {
  return config.LOG_FORMAT === 'json' ? new JsonLogger(config.LOG_LEVEL, destination) : new PrettyLogger(config.LOG_LEVEL);
}
