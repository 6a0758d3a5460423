/**
 * reports/bench.svg: each figure of reports/bench.json as its ratio to the
 * baseline measured in the same run, on a log scale (1 = as fast or as small
 * as the baseline), with the target where the issue sets one.
 */

interface Bar { label: string; ratio: number; better: 'higher' | 'lower'; target?: number }

function num(r: Record<string, unknown>, path: string): number | undefined {
  const v = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], r);
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

function bars(r: Record<string, unknown>): Bar[] {
  const out: Bar[] = [];
  const add = (label: string, ratio: number | undefined, better: Bar['better'], target?: number) => {
    if (ratio !== undefined) out.push({ label, ratio, better, ...(target !== undefined ? { target } : {}) });
  };
  add('start vs bare Koa (time)', num(r, 'start.ratio'), 'lower');
  add('RSS vs bare Koa', num(r, 'rss.ratio'), 'lower');
  add('token validate vs bare Koa (rate)', num(r, 'tokens.validateVsBare'), 'higher');
  add('token validate vs Keystone (rate)', num(r, 'tokens.validateVsKeystone'), 'higher', 10);
  add('token issue, repeat login, vs Keystone (rate)', num(r, 'tokens.repeatIssueVsKeystone'), 'higher', 10);
  add('token issue, first login, vs Keystone (rate)', num(r, 'tokens.issueVsKeystone'), 'higher', 10);
  add('server create vs Koa + 1 insert (rate)', num(r, 'serverCreate.ratio'), 'higher');
  const list = num(r, 'serverList.with10000.p50Ms');
  const bare = num(r, 'serverList.bareKoaSameBody.p50Ms');
  add('servers/detail p50, 10,000 servers, vs bare Koa (time)', list && bare ? list / bare : undefined, 'lower', 1.3);
  add('image upload vs stream copy (MB/s)', num(r, 'imageData.uploadVsStreamCopy'), 'higher');
  add('image download vs stream copy (MB/s)', num(r, 'imageData.downloadVsStreamCopy'), 'higher');
  add('server create, PostgreSQL vs SQLite store (rate)', num(r, 'stores.createRatio'), 'higher');
  add('servers/detail p50, PostgreSQL vs SQLite store (time)', num(r, 'stores.listP50Ratio'), 'lower');
  add('token validate, PostgreSQL vs SQLite store (rate)', num(r, 'stores.validateRatio'), 'higher');
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function benchChart(results: Record<string, unknown>): string {
  const items = bars(results);
  const left = 330;
  const width = 420;
  const row = 26;
  const top = 40;
  const height = top + items.length * row + 40;
  // log10 scale from 1/100 to 100
  const x = (v: number) => left + ((Math.log10(Math.min(Math.max(v, 0.01), 100)) + 2) / 4) * width;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 90}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14" font-weight="bold">stackgate ÷ same-run baseline (log scale; green: the better side of 1)</text>`,
  ];
  for (const t of [0.01, 0.1, 1, 10, 100]) {
    parts.push(`<line x1="${x(t)}" y1="${top - 8}" x2="${x(t)}" y2="${height - 30}" stroke="${t === 1 ? '#333' : '#ddd'}"/>`);
    parts.push(`<text x="${x(t)}" y="${height - 16}" text-anchor="middle" fill="#555">${t}×</text>`);
  }
  items.forEach((b, i) => {
    const y = top + i * row;
    const good = b.better === 'higher' ? b.ratio >= 1 : b.ratio <= 1;
    const x0 = x(1);
    const x1 = x(b.ratio);
    parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 3}" width="${Math.max(Math.abs(x1 - x0), 1)}" height="${row - 8}" fill="${good ? '#4a4' : '#d84'}"/>`);
    parts.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + 14}">${b.ratio < 10 ? b.ratio.toFixed(2) : b.ratio.toFixed(0)}×</text>`);
    if (b.target !== undefined) parts.push(`<line x1="${x(b.target)}" y1="${y + 1}" x2="${x(b.target)}" y2="${y + row - 3}" stroke="#00c" stroke-width="2"><title>target ${b.target}×</title></line>`);
  });
  parts.push(`<text x="10" y="${height - 2}" fill="#555">blue mark: the issue's target</text>`, '</svg>');
  return `${parts.join('\n')}\n`;
}
