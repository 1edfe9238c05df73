import { SingleBar } from 'cli-progress';
import { usageError } from './errors';

/** `auto`: a bar on a terminal, one line per step otherwise (CI logs); `none`: silent. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'bar', 'lines', 'none'];

export function parseProgressMode(text: string): ProgressMode {
  if (!PROGRESS_MODES.includes(text as ProgressMode)) throw usageError(`--progress must be one of ${PROGRESS_MODES.join(', ')}, got '${text}'`);
  return text as ProgressMode;
}

/** Progress on stderr, so stdout keeps only the result (a table, or JSON for scripts). */
export interface Progress {
  /** Set where the work stands; `line` is what the line mode prints for this step (if anything). */
  update(value: number, total: number, label: string, line?: string): void;
  stop(): void;
}

export function createProgress(mode: ProgressMode, unit: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const kind = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (kind === 'none') return { update: () => undefined, stop: () => undefined };
  if (kind === 'lines') {
    return {
      update: (_value, _total, _label, line) => {
        if (line) stream.write(`${line}\n`);
      },
      stop: () => undefined,
    };
  }
  // cli-progress: redraws in place on a terminal; forced (`--progress bar`) on a pipe it prints
  // the bar as a line every second and once at the end.
  const bar = new SingleBar({
    stream,
    format: ` {bar} {percentage}% | {value}/{total} ${unit} | {label}`,
    barCompleteChar: '█',
    barIncompleteChar: '░',
    hideCursor: Boolean(stream.isTTY),
    noTTYOutput: true,
    notTTYSchedule: 1000,
    etaBuffer: 20,
    clearOnComplete: false,
  });
  let started = false;
  return {
    update: (value, total, label) => {
      if (!started) {
        bar.start(total, value, { label });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(value, { label });
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
