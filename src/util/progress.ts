// A progress line for long work (training epochs, data passes): bar, count, caller's fields,
// rate and ETA. On a terminal it redraws one line; elsewhere (logs, CI) it prints a line at
// every tenth of the work so that logs stay short.

/** Where progress goes: process.stderr, or anything with write() (tests). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  total: number;
  /** The unit counted, plural (e.g. 'epochs'): shown in the count and the rate. */
  unit?: string;
  stream?: ProgressStream;
  /** Milliseconds since some origin; injectable for tests. */
  now?: () => number;
  /** Least time between two terminal redraws. */
  redrawMs?: number;
  barWidth?: number;
}

/** Named values shown after the count, in insertion order (e.g. { loss: '0.123' }). */
export type ProgressFields = Readonly<Record<string, string>>;

/** 0.4 -> '0.4s', 75 -> '1m15s', 4000 -> '1h06m'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Three significant digits, enough for a rate: 0.0123, 1.23, 123, 12345. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '?';
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toPrecision(3);
}

export interface ProgressState {
  done: number;
  total: number;
  elapsedSeconds: number;
  unit: string;
  fields: ProgressFields;
  barWidth: number;
}

/** One progress line, without a line ending. Pure, so that tests can check the arithmetic. */
export function renderProgress(s: ProgressState): string {
  const fraction = s.total > 0 ? Math.min(1, Math.max(0, s.done / s.total)) : 1;
  const filled = Math.round(fraction * s.barWidth);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(s.barWidth - filled)}]`;
  const count = `${String(s.done).padStart(String(s.total).length)}/${s.total} ${s.unit}`;
  const fields = Object.entries(s.fields).map(([k, v]) => `${k} ${v}`);
  const rate = s.elapsedSeconds > 0 ? s.done / s.elapsedSeconds : Number.NaN;
  const timing =
    s.done >= s.total
      ? [`${formatRate(rate)} ${s.unit}/s`, `took ${formatDuration(s.elapsedSeconds)}`]
      : [`${formatRate(rate)} ${s.unit}/s`, `ETA ${s.done > 0 ? formatDuration((s.total - s.done) / rate) : '?'}`];
  return [bar, count, ...fields, ...timing].join('  ');
}

export class Progress {
  readonly total: number;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly redrawMs: number;
  private readonly barWidth: number;
  private readonly start: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastTenth = 0;
  private finished = false;

  constructor(options: ProgressOptions) {
    if (!Number.isInteger(options.total) || options.total < 0) throw new RangeError(`Progress: total must be a non-negative integer, got ${options.total}`);
    this.total = options.total;
    this.unit = options.unit ?? 'steps';
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? (() => performance.now());
    this.redrawMs = options.redrawMs ?? 100;
    this.barWidth = options.barWidth ?? 20;
    this.start = this.now();
  }

  /** Reports `done` units finished so far; draws only when due (see the file comment). */
  update(done: number, fields: ProgressFields = {}): void {
    if (this.finished) return;
    if (done >= this.total) {
      this.finish(fields, done);
      return;
    }
    const t = this.now();
    if (this.stream.isTTY) {
      if (t - this.lastDraw < this.redrawMs) return;
      this.lastDraw = t;
      this.stream.write(`\r${this.line(done, fields, t)}\x1b[K`);
    } else {
      const tenth = this.total > 0 ? Math.floor((done * 10) / this.total) : 10;
      if (tenth <= this.lastTenth) return;
      this.lastTenth = tenth;
      this.stream.write(`${this.line(done, fields, t)}\n`);
    }
  }

  /** Draws the final line (always) and ends it. Later calls do nothing. */
  finish(fields: ProgressFields = {}, done = this.total): void {
    if (this.finished) return;
    this.finished = true;
    const line = this.line(done, fields, this.now());
    this.stream.write(this.stream.isTTY ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  private line(done: number, fields: ProgressFields, t: number): string {
    return renderProgress({ done, total: this.total, elapsedSeconds: (t - this.start) / 1000, unit: this.unit, fields, barWidth: this.barWidth });
  }
}
