/** A failure the CLI reports in one line and exits on (never with a stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** How the line starts: `Warning` when the work was done but not all of it (a batch job with failed rows). */
    readonly label: 'Error' | 'Warning' = 'Error',
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The service answered with an error body (`{"error": {"code", "message", "details"}}`). */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** `message (CODE, HTTP 404)`, the way every command reports a refused request. */
  describe(): string {
    return `${this.message} (${this.code}, HTTP ${this.status})`;
  }

  toJSON() {
    return { status: this.status, code: this.code, message: this.message, details: this.details };
  }
}

/** A usage mistake (bad flag value): exit code 2, like commander's own. */
export function usageError(message: string): CliError {
  return new CliError(message, 2);
}
