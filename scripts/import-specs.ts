/**
 * import-specs: ../shared/openstack-specs/<service>/<ver>.yaml → specs/<service>.yaml
 *
 * Checks every sha256 in MANIFEST.tsv before writing anything, then writes the
 * facts of each spec (paths, methods, parameters, schemas, x-openstack, tags)
 * without prose, and specs/lock.json with source, commit and hashes.
 *
 *   import-specs                 current set  → specs/
 *   import-specs --previous      previous/    → specs/previous/
 *   import-specs --from DIR --to DIR
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SERVICE_NAMES } from '../codegen/services.js';
import { listOperations, parseYaml, readManifest, sha256, stripProse, toYaml } from '../codegen/spec-import.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_UPSTREAM = process.env.STACKGATE_UPSTREAM_SPECS ?? resolve(ROOT, '../shared/openstack-specs');

export interface LockEntry {
  file: string;
  source: string;
  sha256: string;
  version: string;
  operations: number;
  imported_sha256: string;
}
export interface Lock {
  source: string;
  commit: string;
  services: Record<string, LockEntry>;
}

export class ImportError extends Error {}

/** Verifies and converts; returns the files to write without writing them. */
export function importSpecs(fromDir: string): { files: Map<string, string>; lock: Lock } {
  if (!existsSync(join(fromDir, 'MANIFEST.tsv'))) {
    throw new ImportError(`no MANIFEST.tsv in ${fromDir} (set STACKGATE_UPSTREAM_SPECS or --from)`);
  }
  const rows = readManifest(fromDir).filter((r) => SERVICE_NAMES.includes(r.service));
  const missing = SERVICE_NAMES.filter((s) => !rows.some((r) => r.service === s));
  if (missing.length) throw new ImportError(`MANIFEST.tsv lacks services: ${missing.join(', ')}`);

  // Every hash first: a mismatch writes nothing.
  const texts = new Map<string, string>();
  const bad: string[] = [];
  for (const row of rows) {
    const text = readFileSync(join(fromDir, row.file), 'utf8');
    const actual = sha256(text);
    if (actual !== row.sha256) bad.push(`${row.file}: sha256 ${actual}, MANIFEST.tsv says ${row.sha256}`);
    texts.set(row.service, text);
  }
  if (bad.length) throw new ImportError(`checksum mismatch, nothing written:\n  ${bad.join('\n  ')}`);

  const commits = new Set(rows.map((r) => r.source.split('@')[1]?.split(':')[0] ?? ''));
  const repos = new Set(rows.map((r) => r.source.split('@')[0] ?? ''));
  const lock: Lock = { source: [...repos].join(','), commit: [...commits].join(','), services: {} };
  const files = new Map<string, string>();
  for (const row of rows) {
    const doc = parseYaml(texts.get(row.service)!);
    const facts = stripProse(doc);
    const out = `# Imported by scripts/import-specs from ${row.source}\n# sha256 ${row.sha256}. Facts only; do not edit (patch in specs/patches/).\n${toYaml(facts)}`;
    files.set(`${row.service}.yaml`, out);
    lock.services[row.service] = {
      file: row.file,
      source: row.source,
      sha256: row.sha256,
      version: String((doc.info as { version?: string } | undefined)?.version ?? ''),
      operations: listOperations(doc).length,
      imported_sha256: sha256(out),
    };
  }
  files.set('lock.json', JSON.stringify(lock, null, 2) + '\n');
  return { files, lock };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      previous: { type: 'boolean', default: false },
    },
  });
  const from = values.from ?? (values.previous ? join(DEFAULT_UPSTREAM, 'previous') : DEFAULT_UPSTREAM);
  const to = values.to ?? (values.previous ? join(ROOT, 'specs/previous') : join(ROOT, 'specs'));
  const t0 = performance.now();
  try {
    const { files, lock } = importSpecs(from);
    mkdirSync(to, { recursive: true });
    for (const [name, text] of files) writeFileSync(join(to, name), text);
    for (const [svc, e] of Object.entries(lock.services)) {
      console.log(`import-specs: ${svc.padEnd(14)} ${e.version.padEnd(6)} ${String(e.operations).padStart(4)} operations  ${e.file}`);
    }
    console.log(`import-specs: wrote ${files.size} files to ${to} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (err) {
    if (err instanceof ImportError) {
      console.error(`import-specs: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
