/**
 * make regen: specs/<service>.yaml + specs/patches/<service>.yaml → generated/.
 *
 *   codegen [--check] [--out DIR]
 *
 * --check writes nothing and exits 1 when generated/ differs from fresh output.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SERVICES } from './services.js';
import { generateService, loadService } from './build.js';
import { emitIndex, emitServices, header } from './emit.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every file of generated/, path relative to it → content. */
export async function generateAll(log: (line: string) => void = () => {}): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const common = readFileSync(join(ROOT, 'codegen/common.template.ts'), 'utf8');
  files.set('common.ts', header('Types shared by every generated service module and by drivers.', 'codegen/common.template.ts') + common);
  files.set('services.ts', emitServices(SERVICES));
  files.set('index.ts', emitIndex(SERVICES));
  for (const service of SERVICES) {
    const t0 = performance.now();
    const loaded = loadService(service, join(ROOT, 'specs'), join(ROOT, 'specs/patches'));
    const out = await generateService(loaded);
    for (const [name, text] of out) files.set(`${service.name}/${name}`, text);
    const own = loaded.rows.filter((r) => !r.headOf).length;
    log(`codegen: ${service.name.padEnd(14)} ${String(loaded.meta.upstreamOperations).padStart(4)} upstream operations → ${String(loaded.rows.length).padStart(4)} rows (${own} methods), ${loaded.meta.patches.length} patches  ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return files;
}

function listFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false }, out: { type: 'string' } } });
  const out = resolve(values.out ?? join(ROOT, 'generated'));
  const t0 = performance.now();
  const files = await generateAll((l) => console.log(l));
  if (values.check) {
    const stale: string[] = [];
    for (const [name, text] of files) {
      const p = join(out, name);
      if (!existsSync(p) || readFileSync(p, 'utf8') !== text) stale.push(name);
    }
    for (const name of listFiles(out)) if (!files.has(name)) stale.push(`${name} (not generated any more)`);
    if (stale.length) {
      console.error(`codegen: generated/ is stale, run \`make regen\`:\n  ${stale.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`codegen: generated/ is up to date (${files.size} files, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return;
  }
  for (const name of listFiles(out)) if (!files.has(name)) rmSync(join(out, name));
  for (const [name, text] of files) {
    mkdirSync(dirname(join(out, name)), { recursive: true });
    writeFileSync(join(out, name), text);
  }
  console.log(`codegen: wrote ${files.size} files to ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`codegen: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
