/**
 * The real `openstack` CLI (Debian python3-openstackclient, openstacksdk's
 * image proxy) against the sandbox's Glance v2, with every response checked
 * against the spec (contract mode: a violation is a 500 and fails the command).
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type Harness } from '../helpers/gateway.js';
import { openstackCli, type OpenstackCli } from '../helpers/openstack-cli.js';

describe('openstack CLI: image', function () {
  this.timeout(240_000);
  let h: Harness;

  let os: OpenstackCli;

  before(async () => {
    h = await startGateway({ contract: true });
    os = openstackCli(h);
  });
  after(() => h.close());

  const data = randomBytes(300 * 1024 + 123);
  let imageId = '';

  it('image create --file uploads the data; show and list give every field', async () => {
    const file = join(h.dataDir, 'upload.qcow2');
    writeFileSync(file, data);
    const created = await os(['image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare',
      '--min-ram', '128', '--property', 'os_distro=cirros', '--tag', 'cli', 'cli-image', '-f', 'json']);
    imageId = created.id;
    expect(imageId).to.match(/^[0-9a-f-]{36}$/);
    expect(created.name).to.equal('cli-image');

    const shown = await os(['image', 'show', 'cli-image', '-f', 'json']);
    const admin = h.gateway.identity.projectByName('default', 'admin')!;
    expect(shown.id).to.equal(imageId);
    expect(shown.name).to.equal('cli-image');
    expect(shown.status).to.equal('active');
    expect(shown.disk_format).to.equal('qcow2');
    expect(shown.container_format).to.equal('bare');
    expect(shown.size).to.equal(data.length);
    expect(shown.checksum).to.equal(createHash('md5').update(data).digest('hex'));
    expect(shown.min_ram).to.equal(128);
    expect(shown.min_disk).to.equal(0);
    expect(shown.owner).to.equal(admin.id);
    expect(shown.protected).to.equal(false);
    expect(shown.visibility).to.equal('shared');
    expect(shown.tags).to.deep.equal(['cli']);
    expect(shown.file).to.equal(`/v2/images/${imageId}/file`);
    expect(shown.schema).to.equal('/v2/schemas/image');
    expect(shown.properties).to.include({
      os_distro: 'cirros', os_hash_algo: 'sha512', os_hash_value: createHash('sha512').update(data).digest('hex'), os_hidden: false,
    });

    const list = await os(['image', 'list', '-f', 'json']);
    expect(list).to.deep.include({ ID: imageId, Name: 'cli-image', Status: 'active' });
    const long = await os(['image', 'list', '--long', '--property', 'os_distro=cirros', '-f', 'json']);
    expect(long).to.have.length(1);
    expect(long[0]).to.include({ ID: imageId, Name: 'cli-image', 'Disk Format': 'qcow2', 'Container Format': 'bare', Size: data.length, Status: 'active', Visibility: 'shared', Protected: false, Project: admin.id });
  });

  it('image save --file gives the same bytes', async () => {
    const out = join(h.dataDir, 'saved.qcow2');
    await os(['image', 'save', '--file', out, imageId]);
    expect(readFileSync(out).equals(data)).to.equal(true);
  });

  it('image set --property and --name, image unset --property', async () => {
    await os(['image', 'set', '--property', 'hw_disk_bus=scsi', '--property', 'os_version=22.04', '--name', 'cli-image-2', imageId]);
    let shown = await os(['image', 'show', imageId, '-f', 'json']);
    expect(shown.name).to.equal('cli-image-2');
    expect(shown.properties).to.include({ hw_disk_bus: 'scsi', os_version: '22.04', os_distro: 'cirros' });
    await os(['image', 'unset', '--property', 'os_version', imageId]);
    shown = await os(['image', 'show', imageId, '-f', 'json']);
    expect(shown.properties).to.not.have.property('os_version');
    expect(shown.properties).to.include({ hw_disk_bus: 'scsi' });
  });

  it('image add project, member accept by the other project, image member list', async () => {
    const team = await os(['project', 'create', 'imgteam', '-f', 'json']);
    await os(['user', 'create', '--project', 'imgteam', '--password', 'team-pass', 'carol', '-f', 'json']);
    await os(['role', 'add', '--project', 'imgteam', '--user', 'carol', 'member']);
    const carol = { OS_USERNAME: 'carol', OS_PASSWORD: 'team-pass', OS_PROJECT_NAME: 'imgteam' };

    const before = await os(['image', 'list', '-f', 'json'], carol);
    expect(before.map((i: { ID: string }) => i.ID)).to.not.include(imageId);

    const member = await os(['image', 'add', 'project', imageId, 'imgteam', '-f', 'json']);
    expect(member).to.include({ image_id: imageId, member_id: team.id, status: 'pending' });

    await os(['image', 'set', '--accept', imageId], carol);
    const members = await os(['image', 'member', 'list', imageId, '-f', 'json']);
    expect(members).to.deep.equal([{ 'Image ID': imageId, 'Member ID': team.id, Status: 'accepted' }]);
    const after = await os(['image', 'list', '-f', 'json'], carol);
    expect(after).to.deep.include({ ID: imageId, Name: 'cli-image-2', Status: 'active' });
    const saved = join(h.dataDir, 'carol.qcow2');
    await os(['image', 'save', '--file', saved, imageId], carol);
    expect(readFileSync(saved).equals(data)).to.equal(true);

    await os(['image', 'remove', 'project', imageId, 'imgteam']);
    const gone = await os(['image', 'list', '-f', 'json'], carol);
    expect(gone.map((i: { ID: string }) => i.ID)).to.not.include(imageId);
  });

  it('image delete, and it is gone', async () => {
    await os(['image', 'delete', imageId]);
    const list = await os(['image', 'list', '-f', 'json']);
    expect(list.map((i: { ID: string }) => i.ID)).to.not.include(imageId);
    const r = await h.request('GET', `/image/v2/images/${imageId}`);
    expect(r.status).to.equal(404);
    try {
      await os(['image', 'show', imageId, '-f', 'json']);
      throw new Error('expected image show to fail');
    } catch (err) {
      expect((err as Error).message).to.match(/No Image found|could not be found|404/i);
    }
  });
});
