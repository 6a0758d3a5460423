/**
 * The real `openstack` CLI (Debian python3-openstackclient, cinderclient
 * underneath) against the sandbox's Cinder, every response checked against
 * the spec (contract mode: a violation is a 500 and fails the command).
 */
import { expect } from 'chai';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { expectFailure, openstackCli, type OpenstackCli } from '../helpers/openstack-cli.js';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('openstack CLI: volume', function () {
  this.timeout(180_000);
  let h: Harness;
  let adminProject: string;
  let adminUser: string;

  let os: OpenstackCli;


  /** Polls `volume show` until the status, as scripts around the CLI do. */
  async function waitStatus(name: string, status: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- CLI JSON output
    for (let i = 0; i < 60; i++) {
      const v = await os(['volume', 'show', name, '-f', 'json']);
      if (v.status === status) return v;
      await sleep(100);
    }
    throw new Error(`${name} never became ${status}`);
  }

  before(async () => {
    h = await startGateway({ contract: true, sandbox: { buildDelayMs: 300 } });
    adminProject = h.gateway.identity.projectByName('default', 'admin')!.id;
    adminUser = h.gateway.identity.userByName('default', 'admin')!.id;
    os = openstackCli(h);
  });
  after(() => h.close());

  it('volume create --size 1, then show and list --long, field by field', async () => {
    const created = await os(['volume', 'create', '--size', '1', '--description', 'cli disk', '--property', 'team=blue', 'cli-vol', '-f', 'json']);
    expect(created).to.include({ name: 'cli-vol', size: 1, status: 'creating', description: 'cli disk', bootable: 'false', availability_zone: 'nova', type: '__DEFAULT__' });
    const v = await waitStatus('cli-vol', 'available');
    expect(v.id).to.equal(created.id);
    expect(v).to.include({
      name: 'cli-vol', size: 1, status: 'available', description: 'cli disk', bootable: 'false', encrypted: false,
      multiattach: false, availability_zone: 'nova', type: '__DEFAULT__', snapshot_id: null, source_volid: null,
      user_id: adminUser, 'os-vol-tenant-attr:tenant_id': adminProject, replication_status: 'disabled',
    });
    expect(v.properties).to.deep.equal({ team: 'blue' });
    expect(v.attachments).to.deep.equal([]);
    expect(v['os-vol-host-attr:host']).to.equal('sandbox@sandbox#sandbox');
    expect(v.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);

    const list = await os(['volume', 'list', '--long', '-f', 'json']);
    const row = list.find((r: { ID: string }) => r.ID === v.id);
    expect(row).to.deep.include({ Name: 'cli-vol', Status: 'available', Size: 1, Type: '__DEFAULT__', Bootable: 'false', 'Attached to': [], Properties: { team: 'blue' } });
    const short = await os(['volume', 'list', '-f', 'json']);
    expect(short.map((r: { Name: string }) => r.Name)).to.include('cli-vol');
  });

  it('volume set --size 2 extends it; set --name and --property update it', async () => {
    await os(['volume', 'set', '--size', '2', 'cli-vol']);
    const v = await waitStatus('cli-vol', 'available');
    expect(v.size).to.equal(2);
    await expectFailure(os(['volume', 'set', '--size', '1', 'cli-vol']), /New size must be greater|greater than current size/i);
    await os(['volume', 'set', '--property', 'tier=gold', '--name', 'cli-vol2', 'cli-vol']);
    const renamed = await os(['volume', 'show', 'cli-vol2', '-f', 'json']);
    expect(renamed.properties).to.deep.equal({ team: 'blue', tier: 'gold' });
    await os(['volume', 'set', '--name', 'cli-vol', 'cli-vol2']);
  });

  it('volume snapshot create, list, show, delete', async () => {
    const s = await os(['volume', 'snapshot', 'create', '--volume', 'cli-vol', '--description', 'first snap', 'cli-snap', '-f', 'json']);
    expect(s).to.include({ name: 'cli-snap', status: 'creating', size: 2, description: 'first snap' });
    let shown = await os(['volume', 'snapshot', 'show', 'cli-snap', '-f', 'json']);
    for (let i = 0; i < 60 && shown.status !== 'available'; i++) {
      await sleep(100);
      shown = await os(['volume', 'snapshot', 'show', 'cli-snap', '-f', 'json']);
    }
    expect(shown).to.include({ id: s.id, status: 'available', 'os-extended-snapshot-attributes:progress': '100%', 'os-extended-snapshot-attributes:project_id': adminProject });
    const list = await os(['volume', 'snapshot', 'list', '-f', 'json']);
    const vol = await os(['volume', 'show', 'cli-vol', '-f', 'json']);
    expect(list).to.deep.include({ ID: s.id, Name: 'cli-snap', Description: 'first snap', Status: 'available', Size: 2 });
    const long = await os(['volume', 'snapshot', 'list', '--long', '-f', 'json']);
    // -f json shows the volume's id (OSC's VolumeIdColumn names it only in tables)
    expect(long.find((r: { ID: string }) => r.ID === s.id)).to.deep.include({ Volume: vol.id, Properties: {} });
    expect(vol.id).to.be.a('string');
    // a volume with snapshots is not deleted
    await expectFailure(os(['volume', 'delete', 'cli-vol']), /have snapshots/);
    await os(['volume', 'snapshot', 'delete', 'cli-snap']);
    for (let i = 0; i < 60; i++) {
      const left = await os(['volume', 'snapshot', 'list', '-f', 'json']);
      if (!left.some((r: { ID: string }) => r.ID === s.id)) return;
      await sleep(100);
    }
    throw new Error('snapshot never went away');
  });

  it('volume type create, list, show, set, delete (admin)', async () => {
    const t = await os(['volume', 'type', 'create', '--description', 'fast disks', '--property', 'volume_backend_name=sandbox', 'gold', '-f', 'json']);
    expect(t).to.include({ name: 'gold', description: 'fast disks', is_public: true });
    expect(t.properties).to.deep.equal({ volume_backend_name: 'sandbox' });
    const list = await os(['volume', 'type', 'list', '--long', '-f', 'json']);
    expect(list.map((r: { Name: string }) => r.Name)).to.include.members(['__DEFAULT__', 'gold']);
    expect(list.find((r: { Name: string }) => r.Name === 'gold')).to.deep.include({ Description: 'fast disks', 'Is Public': true, Properties: { volume_backend_name: 'sandbox' } });
    await os(['volume', 'type', 'set', '--description', 'faster disks', '--property', 'tier=1', 'gold']);
    const set = await os(['volume', 'type', 'show', 'gold', '-f', 'json']);
    expect(set).to.include({ description: 'faster disks' });
    expect(set.properties).to.deep.equal({ volume_backend_name: 'sandbox', tier: '1' });
    const all = await os(['volume', 'list', '--all-projects', '-f', 'json']);
    expect(all.map((r: { Name: string }) => r.Name)).to.include('cli-vol');
    const priv = await os(['volume', 'type', 'create', '--private', '--project', 'admin', 'secret', '-f', 'json']);
    expect(priv.is_public).to.equal(false);
    const shown = await os(['volume', 'type', 'show', 'secret', '-f', 'json']);
    expect(shown.access_project_ids).to.deep.equal([adminProject]);
    const typed = await os(['volume', 'create', '--size', '1', '--type', 'gold', 'gold-vol', '-f', 'json']);
    expect(typed.type).to.equal('gold');
    await waitStatus('gold-vol', 'available');
    await os(['volume', 'delete', 'gold-vol']);
    await os(['volume', 'type', 'delete', 'secret']);
    const after = await os(['volume', 'type', 'list', '-f', 'json']);
    expect(after.map((r: { Name: string }) => r.Name)).to.not.include('secret');
  });

  it('volume delete, then it is gone', async () => {
    await os(['volume', 'delete', 'cli-vol']);
    for (let i = 0; i < 60; i++) {
      const list = await os(['volume', 'list', '-f', 'json']);
      if (!list.some((r: { Name: string }) => r.Name === 'cli-vol')) {
        await expectFailure(os(['volume', 'show', 'cli-vol', '-f', 'json']), /No volume with a name or ID of 'cli-vol' exists/);
        return;
      }
      expect(list.find((r: { Name: string }) => r.Name === 'cli-vol').Status).to.equal('deleting');
      await sleep(100);
    }
    throw new Error('volume never went away');
  });

  it('quota set --volumes --gigabytes (admin) reaches the volume quota set', async () => {
    await os(['quota', 'set', '--volumes', '20', '--gigabytes', '500', '--snapshots', '7', 'admin']);
    const q = await h.request('GET', `/volume/v3/os-quota-sets/${adminProject}`);
    expect((q.json as { quota_set: Record<string, unknown> }).quota_set).to.include({ volumes: 20, gigabytes: 500, snapshots: 7 });
  });
});
