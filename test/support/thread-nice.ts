import * as fs from 'node:fs';

/** The nice value of each of this process's threads (Linux: /proc/<pid>/task/<tid>/stat), by thread id. */
export function threadNiceValues(): Map<string, number> {
  const values = new Map<string, number>();
  for (const tid of fs.readdirSync(`/proc/${process.pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
    values.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return values;
}
