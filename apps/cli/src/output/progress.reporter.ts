import { SingleBar } from 'cli-progress';
import { CliPrinter } from './cli.printer';

export interface ProgressPoint {
  rowsRead: number;
  total: number;
  /** Rows this process read, over `elapsedMs`: the rate (a resumed run counts only its own). */
  rowsThisRun: number;
  elapsedMs: number;
}

/**
 * On a terminal a progress bar (rows, rows/s, ETA) on stderr; otherwise, a log line every few
 * seconds, so that a CI log or a cron mail is not flooded.
 */
export class ProgressReporter {
  private bar?: SingleBar;
  private lastLine = 0;

  constructor(
    private readonly printer: CliPrinter,
    private readonly label: string,
    private readonly everyMs: number,
  ) {}

  update(p: ProgressPoint): void {
    const rate = p.elapsedMs > 0 ? Math.round((p.rowsThisRun / p.elapsedMs) * 1000) : 0;
    const left = Math.max(0, p.total - p.rowsRead);
    const eta = rate > 0 ? formatDuration((left / rate) * 1000) : '?';
    if (this.printer.stderrIsTty) {
      if (!this.bar) {
        this.bar = new SingleBar({
          format: `${this.label} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_text}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
        });
        this.bar.start(p.total, p.rowsRead, { rate, eta_text: eta });
      }
      this.bar.setTotal(Math.max(p.total, p.rowsRead));
      this.bar.update(p.rowsRead, { rate, eta_text: eta });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine < this.everyMs) return;
    this.lastLine = now;
    const pct = p.total > 0 ? Math.min(100, Math.floor((p.rowsRead / p.total) * 100)) : 100;
    this.printer.notice(`${this.label}: ${p.rowsRead}/${p.total} rows (${pct}%), ${rate} rows/s, ETA ${eta}`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
