import { ApiError, CliError } from './errors';
import { Connection } from './settings';

export type Query = Record<string, string | number | undefined>;

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as multipart/form-data. */
  form?: FormData;
  headers?: Record<string, string>;
}

/**
 * The CLI's only way to the service: its public HTTP API, through the global fetch.
 * Every answer that is not 2xx becomes an ApiError carrying the API's code and message.
 */
export class ApiClient {
  /**
   * `sendTenant: false` for commands that are not about one tenant's data (tenants create/ls) or
   * name the tenant in the path (keys): the server resolves `x-tenant` on every root request, so a
   * tenant it does not know would refuse a request that never needed one.
   */
  constructor(
    private readonly connection: Connection,
    private readonly options: { sendTenant?: boolean } = {},
  ) {}

  get url(): string {
    return this.connection.url;
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    const text = await response.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  }

  /** The raw response (for streamed downloads); still throws on non-2xx. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    if (!this.connection.token) {
      throw new CliError(`No credential for ${this.connection.url}: run \`mms login\` for it, or set MMS_TOKEN (the one \`mms login\` kept is for the server it was kept for only)`);
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.connection.token}`, accept: 'application/json', ...options.headers };
    if (this.connection.tenant && this.options.sendTenant !== false) headers['x-tenant'] = this.connection.tenant;
    let body: RequestInit['body'];
    if (options.form) body = options.form;
    else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    }
    const target = `${this.connection.url}${path}${queryString(options.query)}`;
    let response: Response;
    try {
      response = await fetch(target, { method, headers, body });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`Cannot reach ${this.connection.url}: ${cause?.code ?? cause?.message ?? (error as Error).message}. Is the service running (npm start)?`);
    }
    if (!response.ok) throw await toApiError(response);
    return response;
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; details?: Record<string, unknown> } };
    if (parsed.error?.message) return new ApiError(response.status, parsed.error.code ?? 'ERROR', parsed.error.message, parsed.error.details ?? {});
  } catch {
    // not the API's error body: report the status and what came back
  }
  return new ApiError(response.status, `HTTP_${response.status}`, text.trim().slice(0, 300) || response.statusText || 'request failed');
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.append(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** A path segment (model names are URL-safe already; this keeps odd input from changing the route). */
export const seg = (value: string | number) => encodeURIComponent(String(value));
