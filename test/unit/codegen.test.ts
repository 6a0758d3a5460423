/** codegen: the model (action split, HEAD twins, aliases, versions) and regen output. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateAll } from '../../codegen/index.js';
import type { OperationRow } from '../../generated/common.js';
import { computeOperations, identityOperations, imageOperations, volumeOperations, networkOperations, placementOperations, computeSpec, volumeSpec } from '../../generated/index.js';

const ROOT = join(import.meta.dirname, '../..');
const byId = <T extends { id: string }>(rows: readonly T[], id: string): T => {
  const r = rows.find((x) => x.id === id);
  if (!r) throw new Error(`no row ${id}`);
  return r;
};

describe('codegen', function () {
  this.timeout(120_000);

  it('splits each POST …/action body into its own row and driver method', () => {
    const actions = computeOperations.filter((r) => r.path === '/v2.1/servers/{id}/action');
    expect(actions.length).to.equal(41);
    const reboot = byId(computeOperations, 'compute.servers.action.reboot');
    expect(reboot).to.include({ method: 'POST', action: 'reboot', driverMethod: 'rebootServer', specOperationId: 'compute.servers.action' });
    expect(reboot.success).to.deep.equal([{ status: 202 }]);
    expect(byId(computeOperations, 'compute.servers.action.resize').driverMethod).to.equal('resizeServer');
    // Ranges come from each action's body: the VNC console action ends at 2.5.
    expect(byId(computeOperations, 'compute.servers.action.get_vnc_console')).to.include({ minVersion: '2.1', maxVersion: '2.5' });
    // A versioned action (rebuild) spans its branches.
    expect(byId(computeOperations, 'compute.servers.action.rebuild')).to.include({ minVersion: '2.0', maxVersion: null });
    expect(byId(volumeOperations, 'volume.volumes.action.extend').driverMethod).to.equal('extendVolume');
  });

  it('keeps the upstream operation counts and the microversion ranges', () => {
    expect(computeSpec).to.include({ upstreamOperations: 209, version: '2.104', minMicroversion: '2.1', maxMicroversion: '2.104' });
    expect(volumeSpec).to.include({ upstreamOperations: 347, minMicroversion: '3.0', maxMicroversion: '3.71' });
    const rows = { identityOperations, computeOperations, imageOperations, volumeOperations, networkOperations, placementOperations };
    expect(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.length]))).to.deep.equal({
      identityOperations: 368, computeOperations: 265, imageOperations: 81, volumeOperations: 208, networkOperations: 353, placementOperations: 36,
    });
  });

  it('serves HEAD twins with the GET method and merges {project_id} routes into aliases', () => {
    const head = byId(identityOperations, 'identity.projects.check');
    expect(head).to.include({ method: 'HEAD', headOf: 'identity.projects.show', driverMethod: 'showProject' });
    const list: OperationRow = byId(volumeOperations, 'volume.volumes.list');
    expect(list.aliases).to.deep.equal(['/v3/{project_id}/volumes']);
  });

  it('applies the status patches (Nova server create 202, Keystone create 201)', () => {
    expect(byId(computeOperations, 'compute.servers.create').success).to.deep.equal([{ status: 202 }]);
    expect(byId(identityOperations, 'identity.projects.create').success).to.deep.equal([{ status: 201 }]);
    expect(byId(computeOperations, 'compute.keypairs.create').success).to.deep.equal([{ status: 200, max: '2.1' }, { status: 201, min: '2.2' }]);
  });

  it('is deterministic and generated/ is exactly its output', async () => {
    const first = await generateAll();
    const second = await generateAll();
    expect([...first.keys()]).to.deep.equal([...second.keys()]);
    for (const [name, text] of first) {
      expect(second.get(name), name).to.equal(text);
      expect(readFileSync(join(ROOT, 'generated', name), 'utf8'), `generated/${name} is stale: make regen`).to.equal(text);
    }
  });

  it('driver.ts has one typed method per operation', () => {
    const driver = readFileSync(join(ROOT, 'generated/compute/driver.ts'), 'utf8');
    expect(driver).to.contain('rebootServer?: (req: ComputeMethods["rebootServer"][\'request\'])');
    expect(driver).to.match(/rebootServer: \{\n\s+request: DriverRequest<PathOf<Ops\["compute.servers.action"\]>, QueryOf<Ops\["compute.servers.action"\]>, Schemas\["ServersAction_Reboot"\]>;/);
    const methods = driver.match(/^ {2}\w+\?: \(req:/gm) ?? [];
    expect(methods.length).to.equal(computeOperations.filter((r) => !r.headOf && r.servedBy === 'driver').length);
  });
});
