/**
 * A drill report as one self-contained HTML page: the verdict, RTO and RPO against their
 * targets, the dependency graph coloured by outcome, and a timeline of the restore with
 * one bar per service. Inline SVG and CSS only: it opens from disk, offline.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatDuration } from '../model/duration';
import { type DrillReport, type Measure, type ServiceReport, drillVerdict } from '../workflows/drill-report';

const COLOURS: Record<string, string> = {
  succeeded: '#2e7d32',
  failed: '#c62828',
  skipped: '#9e9e9e',
  stateless: '#546e7a',
};

export function renderDrillHtml(report: DrillReport): string {
  const { verdict, advice } = drillVerdict(report);
  const colour = advice ? '#ef6c00' : COLOURS[report.outcome];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Drill ${esc(report.app)} ${esc(report.startedAt)}: ${esc(verdict)}</title>
<style>
 body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
 h1{font-size:1.5rem;margin:0} h2{font-size:1.1rem;margin-top:2rem}
 .verdict{display:inline-block;padding:.15rem .6rem;border-radius:1rem;color:#fff;font-weight:600}
 .cards{display:flex;gap:1rem;flex-wrap:wrap;margin-top:1rem}
 .card{border:1px solid #ddd;border-radius:.5rem;padding:.6rem 1rem;min-width:12rem}
 .card b{display:block;font-size:1.4rem} .met{color:#2e7d32} .missed{color:#c62828}
 table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #eee;padding:.3rem .5rem;text-align:left;vertical-align:top}
 .ok{color:#2e7d32} .bad{color:#c62828} code{font-size:.9em} svg text{font:12px system-ui,sans-serif}
</style></head><body>
<h1>DR drill of ${esc(report.app)} <span class="verdict" style="background:${colour}">${esc(verdict)}</span></h1>
<p>Backup <code>${esc(report.backupId)}</code> restored into a sandbox on ${esc(report.startedAt)}; run <code>${esc(report.workflowId)}</code>.</p>
<div class="cards">${card('RTO (application)', report.rto)}${card('RPO (application)', report.rpo)}
<div class="card">Sandbox teardown<b class="${report.teardown.ok ? 'met' : 'missed'}">${report.teardown.ok ? 'clean' : 'incomplete'}</b></div></div>
${advice ? `<p class="missed"><b>${esc(advice)}</b>: the copies came back, but no query proved them usable.</p>` : ''}
${report.reasons.length > 0 ? `<h2>Why it failed</h2><ul>${report.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : ''}
<h2>Dependency graph</h2>${graphSvg(report)}
<h2>Restore timeline</h2>${timelineSvg(report)}
<h2>Services</h2>${serviceTable(report)}
</body></html>
`;
}

function card(title: string, measure?: Measure): string {
  if (!measure) return `<div class="card">${title}<b>n/a</b></div>`;
  return `<div class="card">${title}<b class="${measure.met ? 'met' : 'missed'}">${formatDuration(measure.ms)}</b>target ${formatDuration(measure.targetMs)}: ${measure.met ? 'met' : 'missed'}</div>`;
}

/** Layers left to right, dependencies first; an arrow from each dependency to its dependent. */
function graphSvg(report: DrillReport): string {
  const box = { w: 150, h: 40, gapX: 70, gapY: 18 };
  const position = new Map<string, { x: number; y: number }>();
  report.layers.forEach((layer, col) =>
    layer.forEach((name, row) =>
      position.set(name, { x: 10 + col * (box.w + box.gapX), y: 10 + row * (box.h + box.gapY) }),
    ),
  );
  const width = 20 + report.layers.length * (box.w + box.gapX);
  const height = 20 + Math.max(...report.layers.map((l) => l.length)) * (box.h + box.gapY);
  const edges = Object.entries(report.dependsOn).flatMap(([service, deps]) =>
    deps.map((dep) => {
      const from = position.get(dep)!;
      const to = position.get(service)!;
      return `<line x1="${from.x + box.w}" y1="${from.y + box.h / 2}" x2="${to.x - 4}" y2="${to.y + box.h / 2}" stroke="#999" marker-end="url(#arrow)"/>`;
    }),
  );
  const nodes = [...position].map(([name, { x, y }]) => {
    const service = report.services[name];
    return `<g><title>${esc(`${name}: ${service.status}${service.reason ? ` (${service.reason})` : ''}`)}</title>
<rect x="${x}" y="${y}" width="${box.w}" height="${box.h}" rx="6" fill="${COLOURS[service.status]}"/>
<text x="${x + 8}" y="${y + 17}" fill="#fff" font-weight="600">${esc(name)}</text>
<text x="${x + 8}" y="${y + 32}" fill="#fff">${esc(service.kind)} · ${esc(service.tier)}</text></g>`;
  });
  return `<svg width="${width}" height="${height}" role="img" aria-label="dependency graph">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#999"/></marker></defs>
${edges.join('\n')}${nodes.join('\n')}</svg>`;
}

/** One row per service: the restore as a bar coloured by outcome, then its validation, lighter. */
function timelineSvg(report: DrillReport): string {
  const start = Date.parse(report.startedAt);
  const span = Math.max(1, Date.parse(report.finishedAt) - start);
  const rows = Object.entries(report.services)
    .filter(([, s]) => s.restore)
    .sort(([, a], [, b]) => Date.parse(a.restore!.startedAt) - Date.parse(b.restore!.startedAt));
  const label = 120;
  const plot = 760;
  const rowH = 26;
  const x = (iso: string) => label + ((Date.parse(iso) - start) / span) * plot;
  const bars = rows.map(([name, s], i) => {
    const y = 24 + i * rowH;
    const restore = s.restore!;
    const validation = s.validation;
    const width = (from: string, to: string) => Math.max(2, x(to) - x(from));
    return `<text x="0" y="${y + 14}">${esc(name)}</text>
<rect x="${x(restore.startedAt)}" y="${y}" width="${width(restore.startedAt, restore.finishedAt)}" height="18" fill="${COLOURS[s.status]}"><title>${esc(`${name}: restore ${formatDuration(restore.ms)}`)}</title></rect>
${validation ? `<rect x="${x(validation.startedAt)}" y="${y}" width="${width(validation.startedAt, validation.finishedAt)}" height="18" fill="${COLOURS[s.status]}" opacity="0.45"><title>validation</title></rect>` : ''}
<text x="${x(validation?.finishedAt ?? restore.finishedAt) + 6}" y="${y + 14}" fill="#555">${s.rto ? `back after ${formatDuration(s.rto.ms)}` : esc(s.status)}</text>`;
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map(
    (f) =>
      `<line x1="${label + f * plot}" y1="14" x2="${label + f * plot}" y2="${24 + rows.length * rowH}" stroke="#eee"/><text x="${label + f * plot - 10}" y="10" fill="#777">${formatDuration(f * span)}</text>`,
  );
  return `<svg width="${label + plot + 150}" height="${34 + rows.length * rowH}" role="img" aria-label="restore timeline">
${ticks.join('\n')}${bars.join('\n')}</svg>
<p style="color:#555">Solid: restore into the sandbox. Light: validation. Time from the drill's start.</p>`;
}

function serviceTable(report: DrillReport): string {
  const rows = Object.entries(report.services).map(
    ([name, s]) => `<tr><td><b>${esc(name)}</b><br>${esc(s.kind)} · ${esc(s.tier)}</td>
<td style="color:${COLOURS[s.status]}">${esc(s.status)}${s.reason ? `<br><small>${esc(s.reason)}</small>` : ''}</td>
<td>${s.sandbox ? `<code>${esc(s.sandbox)}</code>` : ''}</td><td>${measureCell(s.rto)}</td><td>${measureCell(s.rpo)}</td>
<td>${checks(s)}</td></tr>`,
  );
  return `<table><tr><th>service</th><th>outcome</th><th>sandbox copy</th><th>RTO</th><th>RPO</th><th>validators</th></tr>${rows.join('')}</table>`;
}

function measureCell(m?: Measure): string {
  return m
    ? `<span class="${m.met ? 'ok' : 'bad'}">${formatDuration(m.ms)}</span> / ${formatDuration(m.targetMs)}`
    : '';
}

function checks(s: ServiceReport): string {
  if (s.kind !== 'stateless' && (s.validation?.results.length ?? 0) === 0)
    return '<span class="bad">none</span>';
  return (s.validation?.results ?? [])
    .map(
      (r) =>
        `<div class="${r.ok ? 'ok' : 'bad'}">${r.ok ? '✔' : '✘'} ${esc(r.check)} <small>(${esc(r.detail)})</small></div>`,
    )
    .join('');
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Writes the report as `<dir>/<run>.json` and `<dir>/<run>.html`; returns both paths. */
export async function writeDrillReport(
  report: DrillReport,
  dir: string,
): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const base = path.join(dir, report.workflowId.replace(/[^A-Za-z0-9._-]+/g, '_'));
  const files = { json: `${base}.json`, html: `${base}.html` };
  await writeFile(files.json, JSON.stringify(report, null, 2) + '\n');
  await writeFile(files.html, renderDrillHtml(report));
  return files;
}
