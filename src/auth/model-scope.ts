import type { AuthContext } from './auth-context';

const compiled = new Map<string, RegExp>();

/** `demand-*` style globs: `*` any run of characters, `?` one character, nothing else special. */
export function globToRegExp(glob: string): RegExp {
  let re = compiled.get(glob);
  if (!re) {
    const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    re = new RegExp(`^${body}$`);
    compiled.set(glob, re);
  }
  return re;
}

/** Whether the caller may see or use the model with this name (scorer keys can be limited by globs). */
export function canAccessModel(ctx: AuthContext, modelName: string): boolean {
  return ctx.modelScope === null || ctx.modelScope.some((glob) => globToRegExp(glob).test(modelName));
}

/** The same globs as SQL LIKE patterns, to filter listings in the database. */
export function globToLikePattern(glob: string): string {
  return glob.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%').replace(/\?/g, '_');
}

export const MODEL_GLOB = /^[a-z0-9._*?-]{1,128}$/;
