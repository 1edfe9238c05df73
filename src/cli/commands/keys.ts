import { Command, Option } from 'commander';
import { seg } from '../api-client';
import { parseList } from '../args';
import { CommandContext, contextOf } from '../context';
import { ApiError, CliError, usageError } from '../errors';
import { json, table, time } from '../output';
import { isUuid } from '../../common/uuid';

interface Tenant {
  id: string;
  name: string;
  createdAt: string;
  limits?: Record<string, number>;
}

interface KeyView {
  id: string;
  tenantId: string;
  role: string;
  models: string[] | null;
  description: string | null;
  prefix: string;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  key?: string;
}

/** Keys name their tenant in the path and tenants are no tenant's data: neither sends `x-tenant`. */
const NOT_TENANT_SCOPED = { tenantScoped: false };


export function keyCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description("a tenant's API keys (root, or the tenant's admin); the tenant is --tenant <id or name>, or an admin key's own");

  keys
    .command('create')
    .description('create a key; its secret is shown once')
    .addOption(new Option('--role <role>', 'what the key may do').choices(['admin', 'publisher', 'scorer']).makeOptionMandatory())
    .option('--models <globs>', 'scorer keys: only models matching these globs, comma-separated (e.g. demand-*)')
    .option('--expires-at <iso-date>', 'expiry, e.g. 2027-01-01T00:00:00Z')
    .option('--description <text>', 'what the key is for')
    .addHelpText(
      'after',
      `
Examples:
  mms keys create --tenant acme-retail --role scorer --models 'demand-*'
  mms keys create --tenant 0b7c…-… --role publisher --description 'nightly pipeline' --json`,
    )
    .action(async (opts: { role: string; models?: string; expiresAt?: string; description?: string }, command: Command) => {
      const ctx = contextOf(command, NOT_TENANT_SCOPED);
      const tenantId = await resolveTenantId(ctx);
      if (opts.expiresAt && Number.isNaN(Date.parse(opts.expiresAt))) throw usageError(`--expires-at must be an ISO 8601 date-time, got '${opts.expiresAt}'`);
      const body = {
        role: opts.role,
        ...(opts.models ? { models: parseList(opts.models) } : {}),
        ...(opts.expiresAt ? { expiresAt: opts.expiresAt } : {}),
        ...(opts.description ? { description: opts.description } : {}),
      };
      const key = await ctx.api.request<KeyView>('POST', `/v1/tenants/${seg(tenantId)}/keys`, { json: body });
      if (ctx.json) return ctx.io.out(json(key));
      ctx.io.out(`${key.key}\n`);
      ctx.io.err(
        `Created ${key.role} key ${key.id} for tenant ${tenantId}${key.models ? ` (models ${key.models.join(', ')})` : ''}${key.expiresAt ? `, expires ${time(key.expiresAt)}` : ''}.\n` +
          'The key above is shown once; only its hash is kept.\n',
      );
    });

  keys
    .command('ls')
    .alias('list')
    .description("list a tenant's keys (never their secrets)")
    .action(async (_opts: unknown, command: Command) => {
      const ctx = contextOf(command, NOT_TENANT_SCOPED);
      const tenantId = await resolveTenantId(ctx);
      const { items } = await ctx.api.request<{ items: KeyView[] }>('GET', `/v1/tenants/${seg(tenantId)}/keys`);
      if (ctx.json) return ctx.io.out(json({ items }));
      ctx.io.out(
        table(
          ['ID', 'PREFIX', 'ROLE', 'MODELS', 'EXPIRES', 'REVOKED', 'DESCRIPTION'],
          items.map((k) => [k.id, k.prefix, k.role, k.models?.join(','), time(k.expiresAt), time(k.revokedAt), k.description]),
        ),
      );
    });

  keys
    .command('revoke')
    .description('revoke a key at once (tokens made from it stop working too)')
    .argument('<key-id>')
    .action(async (keyId: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command, NOT_TENANT_SCOPED);
      const tenantId = await resolveTenantId(ctx);
      await ctx.api.request('DELETE', `/v1/tenants/${seg(tenantId)}/keys/${seg(keyId)}`);
      ctx.io.out(ctx.json ? json({ id: keyId, revoked: true }) : `Revoked key ${keyId}\n`);
    });

  const tenants = program.command('tenants').description('tenants (root credential)');
  tenants
    .command('create')
    .description('create a tenant')
    .argument('<name>', 'lower-case letters, digits and -')
    .action(async (name: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command, NOT_TENANT_SCOPED);
      const tenant = await ctx.api.request<Tenant>('POST', '/v1/tenants', { json: { name } });
      ctx.io.out(ctx.json ? json(tenant) : `Created tenant ${tenant.name} (${tenant.id}). Next: mms keys create --tenant ${tenant.name} --role admin\n`);
    });
  tenants
    .command('ls')
    .alias('list')
    .description('list tenants')
    .action(async (_opts: unknown, command: Command) => {
      const ctx = contextOf(command, NOT_TENANT_SCOPED);
      const { items } = await ctx.api.request<{ items: Tenant[] }>('GET', '/v1/tenants');
      if (ctx.json) return ctx.io.out(json({ items }));
      ctx.io.out(table(['ID', 'NAME', 'CREATED'], items.map((t) => [t.id, t.name, time(t.createdAt)])));
    });
}

/**
 * The tenant id for /v1/tenants/{tenant}/…: `--tenant` as an id, or as a name looked up in
 * the tenant list (root); without `--tenant`, an admin key's own tenant (from a token it mints).
 */
export async function resolveTenantId(ctx: CommandContext): Promise<string> {
  const ref = ctx.connection.tenant;
  if (ref && isUuid(ref)) return ref;
  let tenants: Tenant[] | null = null;
  try {
    tenants = (await ctx.api.request<{ items: Tenant[] }>('GET', '/v1/tenants')).items;
  } catch (error) {
    if (!(error instanceof ApiError && (error.status === 403 || error.status === 401))) throw error;
    if (error.status === 401) throw error;
  }
  if (tenants) {
    if (!ref) throw usageError('With the root credential, name the tenant: --tenant <id or name>');
    const found = tenants.find((t) => t.name === ref);
    if (!found) throw new CliError(`No tenant named '${ref}' (mms tenants ls lists them)`);
    return found.id;
  }
  const own = await ownTenantId(ctx);
  if (ref && ref !== own) {
    const tenant = await ctx.api.request<Tenant>('GET', `/v1/tenants/${seg(own)}`);
    if (tenant.name !== ref) throw new CliError(`This credential belongs to tenant '${tenant.name}', not '${ref}'`);
  }
  return own;
}

/** A key's tenant: the `tid` claim of a token (the credential itself, or one minted from the key). */
async function ownTenantId(ctx: CommandContext): Promise<string> {
  let token = ctx.connection.token ?? '';
  if (token.split('.').length !== 3) token = (await ctx.api.request<{ token: string }>('POST', '/v1/auth/token')).token;
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { tid?: string };
    if (claims.tid) return claims.tid;
  } catch {
    // fall through
  }
  throw new CliError('Cannot tell which tenant this credential belongs to: give --tenant <id>');
}
