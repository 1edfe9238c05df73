import type { AuthContext } from './auth-context';

/**
 * Whether `name` matches a `demand-*` style glob: `*` any run of characters, `?` one
 * character, nothing else special. Matched by walking both strings (at most glob × name steps),
 * not by a regular expression: a glob such as `**********b` compiled to `^.*.*…b$` backtracks
 * exponentially, and one scorer key holding it froze the event loop for every tenant.
 */
export function globMatches(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1; // position of the last `*` seen in the glob
  let resume = 0; // where in the name that `*` is retried from
  while (n < name.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === name[n])) {
      g++;
      n++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      resume = n;
    } else if (star >= 0) {
      // Let the last `*` take one more character, and match the rest of the glob after it again.
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g++;
  return g === glob.length;
}

/** Whether the caller may see or use the model with this name (scorer keys can be limited by globs). */
export function canAccessModel(ctx: AuthContext, modelName: string): boolean {
  return ctx.modelScope === null || ctx.modelScope.some((glob) => globMatches(glob, modelName));
}

/** The same globs as SQL LIKE patterns, to filter listings in the database. */
export function globToLikePattern(glob: string): string {
  return glob.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%').replace(/\?/g, '_');
}

export const MODEL_GLOB = /^[a-z0-9._*?-]{1,128}$/;
