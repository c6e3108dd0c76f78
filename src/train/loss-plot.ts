// losses.png of a run: one panel per loss term (the stages' versions of a term share a panel),
// the total loss, the LR and the SPB temperature over optimizer steps, stage starts marked.
import { existsSync, writeFileSync } from 'node:fs';
import { type Panel, type Series, type VerticalLine, linePlot } from '../util/plot.js';
import { METRIC_META_KEYS, type MetricLine, readMetrics, runPath } from './run-dir.js';

/** The panels for a run's metric lines. */
export function lossPanels(lines: readonly MetricLine[]): Panel[] {
  if (lines.length === 0) throw new Error('loss plot: the run has no metric lines yet');
  const steps = lines.map((l) => l.step);
  const column = (key: string): (number | null)[] => lines.map((l) => (typeof l[key] === 'number' ? (l[key] as number) : null));
  const vLines: VerticalLine[] = [];
  lines.forEach((l, i) => {
    if (i > 0 && l.stage !== lines[i - 1]!.stage) vLines.push({ x: l.step, label: `stage ${l.stage}` });
  });
  const termNames = [...new Set(lines.flatMap((l) => Object.keys(l)))].filter((k) => !METRIC_META_KEYS.has(k) && !/^stage\d_loss$/.test(k));
  const groups = new Map<string, string[]>();
  for (const name of termNames) {
    const base = name.replace(/^stage\d_/, '');
    groups.set(base, [...(groups.get(base) ?? []), name]);
  }
  // One x range for every panel, so the stages line up across panels.
  const xRange: [number, number] = [steps[0]!, Math.max(steps.at(-1)!, steps[0]! + 1)];
  const panel = (title: string, series: Series[], yLabel?: string): Panel => ({ title, series, xLabel: 'step', xRange, vLines, ...(yLabel ? { yLabel } : {}) });
  // The stages' totals as separate series: their weights differ (stage 3 multiplies the global loss by 10).
  const totals = [1, 2, 3].map((s) => `stage${s}_loss`).filter((k) => lines.some((l) => typeof l[k] === 'number'));
  const totalSeries: Series[] = totals.length > 0 ? totals.map((name) => ({ name, x: steps, y: column(name) })) : [{ name: 'loss', x: steps, y: column('loss') }];
  const positive = totalSeries.every((s) => Array.from(s.y).every((v) => v === null || v > 0));
  const panels: Panel[] = [{ ...panel('total loss', totalSeries), logY: positive }];
  for (const [base, names] of groups) panels.push(panel(base, names.map((name) => ({ name, x: steps, y: column(name) }))));
  panels.push(panel('learning rate', [{ name: 'lr', x: steps, y: column('lr') }], 'lr'));
  if (lines.some((l) => l.spb_temp !== null)) panels.push(panel('SPB temperature', [{ name: 'spb_temp', x: steps, y: column('spb_temp') }]));
  return panels;
}

/** Writes RUN_DIR/losses.png from its metrics.jsonl; returns the file. */
export async function writeLossPlot(runDir: string): Promise<string> {
  if (!existsSync(runPath(runDir, 'metrics'))) throw new Error(`'${runDir}' has no metrics.jsonl (not a run directory?)`);
  const panels = lossPanels(readMetrics(runDir));
  const png = await linePlot(panels, { columns: 2, title: `training: ${runDir}` });
  const file = runPath(runDir, 'plot');
  writeFileSync(file, png);
  return file;
}
