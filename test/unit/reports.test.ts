/** The matrix and the spec-diff report: computed from code, and the committed ones are fresh. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeMatrix, matrixFiles } from '../../scripts/matrix.js';
import { diffService, driverMethodIndex, type ServiceDrivers } from '../../scripts/spec-diff.js';
import { SERVICES } from '../../codegen/services.js';
import { SandboxCompute } from '../../drivers/sandbox/compute.js';
import { classMethods } from '../../scripts/matrix.js';
import { computeOperations } from '../../generated/index.js';

const ROOT = join(import.meta.dirname, '../..');

describe('compatibility matrix', function () {
  this.timeout(60_000);

  it('equals what the driver classes implement, row by row', async () => {
    const m = await computeMatrix();
    const compute = m.services.find((s) => s.name === 'compute')!;
    const methods = new Set(Object.getOwnPropertyNames(SandboxCompute.prototype));
    for (const row of compute.rows) {
      const op = computeOperations.find((o) => o.id === row.id)!;
      const want = op.servedBy === 'gateway' ? 'gateway' : methods.has(op.driverMethod) ? 'implemented' : 'missing';
      expect(row.backends.sandbox, row.id).to.equal(want);
    }
    expect(compute.rows.find((r) => r.id === 'compute.flavors.show')!.backends.sandbox).to.equal('implemented');
    expect(compute.rows.find((r) => r.id === 'compute.servers.create')!.backends.sandbox).to.equal('implemented');
    expect(compute.rows.find((r) => r.id === 'compute.agents.create')!.backends.sandbox).to.equal('missing');
    const implemented = compute.rows.filter((r) => r.backends.sandbox !== 'missing').length;
    expect(compute.coverage.sandbox).to.deep.equal({ implemented, total: compute.rows.length, percent: Math.round((implemented / compute.rows.length) * 1000) / 10 });
  });

  it('the committed reports/matrix.* are fresh', async () => {
    for (const [name, text] of await matrixFiles()) {
      expect(readFileSync(join(ROOT, 'reports', name), 'utf8'), `reports/${name} is stale: make matrix`).to.equal(text);
    }
  });

  it('the HTML report is a readable page with one table per service', async () => {
    const html = (await matrixFiles()).get('matrix.html')!;
    expect(html).to.match(/^<!doctype html>/);
    for (const s of SERVICES) expect(html).to.contain(`<h2 id="${s.name}">`);
  });
});

describe('spec-diff previous → current', function () {
  this.timeout(60_000);
  const index = driverMethodIndex(join(ROOT, 'drivers'));
  const drivers: ServiceDrivers[] = [{ backend: 'sandbox', className: 'SandboxCompute', methods: classMethods(SandboxCompute) }];

  it('reports the compute microversion move 2.100 → 2.104 and the driver methods it touches', () => {
    const d = diffService(SERVICES.find((s) => s.name === 'compute')!, join(ROOT, 'specs/previous'), join(ROOT, 'specs'), index, drivers);
    expect(d.from).to.include({ version: '2.100', microversions: '2.1..2.100' });
    expect(d.to).to.include({ version: '2.104', microversions: '2.1..2.104' });
    expect(d.removed.map((c) => c.id)).to.include('compute.volumes_boot.action.pause');
    const flavors = d.changed.find((c) => c.id === 'compute.flavors.list');
    expect(flavors?.affects).to.deep.equal(['drivers/sandbox/compute.ts SandboxCompute.listFlavors']);
  });

  it('reports network 2.28 → 2.29 with its new operations', () => {
    const d = diffService(SERVICES.find((s) => s.name === 'network')!, join(ROOT, 'specs/previous'), join(ROOT, 'specs'), index, []);
    expect([d.from.version, d.to.version]).to.deep.equal(['2.28', '2.29']);
    expect(d.added.length).to.equal(5);
    expect(d.to.operations - d.from.operations).to.equal(5);
  });

  it('the committed report names the versions and is fresh', () => {
    const md = readFileSync(join(ROOT, 'reports/spec-diff-previous-to-current.md'), 'utf8');
    expect(md).to.contain('| compute | 2.100 → 2.104 | 2.1..2.100 → 2.1..2.104 |');
    expect(md).to.contain('| network | 2.28 → 2.29 |');
  });
});
