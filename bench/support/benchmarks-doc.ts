import * as fs from 'node:fs';
import * as path from 'node:path';

const HEADER = `# Benchmarks

Measured on a shared 2-core machine whose speed swings with its load, so every figure that
matters here is a **ratio against a baseline measured in the same run** (absolute
milliseconds are given only as context). Each section names the command that regenerates it
and is rewritten, and only it, by that command.
`;

/** The repository root: the nearest directory with a package.json above the first start that has one. */
export function findRepoRoot(...starts: string[]): string {
  for (const start of starts) {
    let dir = path.resolve(start);
    for (;;) {
      if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(`no package.json above ${starts.join(' or ')}`);
}

/**
 * Writes `sub` (a "### …" subsection) into the "## …" section `heading` of the markdown
 * file (created with a header if missing). The section's intro becomes `intro`, the
 * subsection whose heading starts with `subKey` is replaced (or added), and every other
 * section and subsection is left as it was.
 */
export function writeSubsection(file: string, heading: string, intro: string, subKey: string, sub: string): void {
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : HEADER;
  const lines = existing.replace(/\s+$/, '').split('\n');
  let start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) {
    lines.push('', heading);
    start = lines.length - 1;
  }
  let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (end < 0) end = lines.length;
  // The section belongs to this command: its intro is rewritten, its other subsections kept.
  const { parts } = splitSubsections(lines.slice(start + 1, end));
  const body = trimBlank(sub.trim().split('\n'));
  const at = parts.findIndex((p) => p[0].startsWith(subKey));
  if (at >= 0) parts[at] = body;
  else parts.push(body);
  // A stable order: "### Embedded …" first, then servers by name.
  parts.sort((a, b) => a[0].localeCompare(b[0]));
  const section = [heading, '', ...intro.trim().split('\n'), ...parts.flatMap((p) => ['', ...trimBlank(p)])];
  const out = [...lines.slice(0, start), ...section, ...(end < lines.length ? ['', ...lines.slice(end)] : [])];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${out.join('\n')}\n`);
}

function splitSubsections(section: string[]): { head: string[]; parts: string[][] } {
  const head: string[] = [];
  const parts: string[][] = [];
  let inFence = false;
  for (const line of section) {
    if (line.startsWith('```')) inFence = !inFence;
    if (!inFence && line.startsWith('### ')) parts.push([line]);
    else if (parts.length) parts[parts.length - 1].push(line);
    else head.push(line);
  }
  return { head, parts };
}

function trimBlank(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && !lines[a].trim()) a++;
  while (b > a && !lines[b - 1].trim()) b--;
  return lines.slice(a, b);
}
