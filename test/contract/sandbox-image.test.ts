/** The sandbox's Glance v2, end to end through the generated routes, spec-checked responses. */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type Harness } from '../helpers/gateway.js';
import type { SandboxCloud } from '../../drivers/sandbox/cloud.js';

interface Image {
  id: string; name: string | null; status: string; visibility: string; owner: string; size: number | null;
  checksum: string | null; os_hash_algo: string | null; os_hash_value: string | null; tags: string[];
  protected: boolean; min_ram: number; min_disk: number; self: string; file: string; schema: string;
  [k: string]: unknown;
}
interface ImageList { images: Image[]; first: string; next?: string; schema: string }

const PATCH = 'application/openstack-images-v2.1-json-patch';

function md5(b: Buffer): string { return createHash('md5').update(b).digest('hex'); }
function sha512(b: Buffer): string { return createHash('sha512').update(b).digest('hex'); }

/** The gateway's project id of a project name, through Keystone. */
async function projectId(h: Harness, name: string): Promise<string> {
  const r = await h.request('GET', `/identity/v3/projects?name=${name}`);
  return (r.json as { projects: { id: string }[] }).projects[0]!.id;
}

/** A second project with a member user; returns its token and id. */
async function secondProject(h: Harness, name: string): Promise<{ token: string; id: string }> {
  const p = await h.request('POST', '/identity/v3/projects', { body: { project: { name, domain_id: 'default' } } });
  expect(p.status, p.text).to.equal(201);
  const id = (p.json as { project: { id: string } }).project.id;
  const u = await h.request('POST', '/identity/v3/users', { body: { user: { name: `${name}-user`, password: 'pw-secret-1', default_project_id: id, domain_id: 'default' } } });
  expect(u.status, u.text).to.equal(201);
  const userId = (u.json as { user: { id: string } }).user.id;
  const roles = await h.request('GET', '/identity/v3/roles?name=member');
  const roleId = (roles.json as { roles: { id: string }[] }).roles[0]!.id;
  const g = await h.request('PUT', `/identity/v3/projects/${id}/users/${userId}/roles/${roleId}`);
  expect(g.status, g.text).to.equal(204);
  return { token: await h.login(`${name}-user`, 'pw-secret-1', name), id };
}

describe('sandbox: images (Glance v2)', function () {
  this.timeout(60_000);
  let h: Harness;
  before(async () => { h = await startGateway({ contract: true }); });
  after(() => h.close());

  async function create(body: Record<string, unknown>, token?: string): Promise<Image> {
    const r = await h.request('POST', '/image/v2/images', { body, ...(token ? { token } : {}) });
    expect(r.status, r.text).to.equal(201);
    return r.json as Image;
  }

  async function upload(id: string, data: Buffer, token = h.adminToken): Promise<Response> {
    return fetch(`${h.url}/image/v2/images/${id}/file`, {
      method: 'PUT', headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' }, body: new Uint8Array(data),
    });
  }

  it('creates a queued image, uploads a few MB, downloads the same bytes with checksums', async () => {
    const img = await create({ name: 'cirros', disk_format: 'qcow2', container_format: 'bare', tags: ['a', 'a', 'b'], os_distro: 'cirros', min_ram: 64 });
    expect(img).to.include({ name: 'cirros', status: 'queued', visibility: 'shared', size: null, checksum: null, protected: false, os_distro: 'cirros', min_ram: 64, min_disk: 0 });
    expect(img.tags).to.deep.equal(['a', 'b']);
    expect(img.self).to.equal(`/v2/images/${img.id}`);
    expect(img.file).to.equal(`/v2/images/${img.id}/file`);
    expect(img.schema).to.equal('/v2/schemas/image');
    expect(img.owner).to.equal(await projectId(h, 'admin'));
    expect(img.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const empty = await h.request('GET', `/image/v2/images/${img.id}/file`);
    expect(empty.status).to.equal(204);

    const data = randomBytes(3 * 1024 * 1024 + 17);
    const up = await upload(img.id, data);
    expect(up.status, await up.text()).to.equal(204);
    const shown = (await h.request('GET', `/image/v2/images/${img.id}`)).json as Image;
    expect(shown).to.include({ status: 'active', size: data.length, checksum: md5(data), os_hash_algo: 'sha512', os_hash_value: sha512(data) });

    const down = await fetch(`${h.url}/image/v2/images/${img.id}/file`, { headers: { 'x-auth-token': h.adminToken } });
    expect(down.status).to.equal(200);
    expect(down.headers.get('content-type')).to.equal('application/octet-stream');
    expect(down.headers.get('content-md5')).to.equal(md5(data));
    expect(down.headers.get('content-length')).to.equal(String(data.length));
    const got = Buffer.from(await down.arrayBuffer());
    expect(got.equals(data)).to.equal(true);

    const part = await fetch(`${h.url}/image/v2/images/${img.id}/file`, { headers: { 'x-auth-token': h.adminToken, range: 'bytes=10-19' } });
    expect(part.status).to.equal(206);
    expect(part.headers.get('content-range')).to.equal(`bytes 10-19/${data.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(10, 20))).to.equal(true);

    const again = await upload(img.id, Buffer.from('more'));
    expect(again.status).to.equal(409);
    expect(await again.text()).to.contain('Image status transition from active to saving is not allowed');
  });

  it('refuses an upload before disk and container formats are set', async () => {
    const img = await create({ name: 'formatless' });
    const up = await upload(img.id, Buffer.from('x'));
    expect(up.status).to.equal(400);
    expect(await up.text()).to.contain('Properties disk_format, container_format must be set prior to saving data.');
  });

  it('creates with a given id, 409 on the same id again, 403 on read-only attributes, 403 public for a member', async () => {
    const id = '8a0f3e60-2e3b-4b6c-9d7a-5e2d1b7b1c11';
    const img = await create({ id, name: 'fixed' });
    expect(img.id).to.equal(id);
    const dup = await h.request('POST', '/image/v2/images', { body: { id, name: 'again' } });
    expect(dup.status).to.equal(409);
    const ro = await h.request('POST', '/image/v2/images', { body: { name: 'x', self: '/nope' } });
    expect(ro.status).to.equal(403);
    expect(ro.json).to.have.property('message').that.contains("Attribute 'self' is read-only.");
    const reserved = await h.request('POST', '/image/v2/images', { body: { name: 'x', os_glance_foo: 'bar' } });
    expect(reserved.status).to.equal(403);
  });

  it('JSON-patch: add, replace, remove; read-only 403; missing property 409; wrong media type 415', async () => {
    const img = await create({ name: 'patchme', disk_format: 'raw', container_format: 'bare' });
    const patch = (ops: unknown[], type = PATCH) => h.request('PATCH', `/image/v2/images/${img.id}`, { raw: JSON.stringify(ops), headers: { 'content-type': type } });
    const r = await patch([
      { op: 'replace', path: '/name', value: 'patched' },
      { op: 'add', path: '/min_ram', value: 512 },
      { op: 'add', path: '/hw_disk_bus', value: 'scsi' },
      { op: 'add', path: '/os_version', value: '22.04' },
      { op: 'replace', path: '/tags', value: ['x', 'y'] },
    ]);
    expect(r.status, r.text).to.equal(200);
    expect(r.json).to.include({ name: 'patched', min_ram: 512, hw_disk_bus: 'scsi', os_version: '22.04' });
    expect((r.json as Image).tags).to.deep.equal(['x', 'y']);
    const rm = await patch([{ op: 'remove', path: '/os_version' }, { op: 'replace', path: '/hw_disk_bus', value: 'virtio' }]);
    expect(rm.status, rm.text).to.equal(200);
    expect(rm.json).to.not.have.property('os_version');
    expect(rm.json).to.include({ hw_disk_bus: 'virtio' });
    expect((await patch([{ op: 'replace', path: '/status', value: 'active' }])).status).to.equal(403);
    expect((await patch([{ op: 'remove', path: '/name' }])).status).to.equal(403);
    expect((await patch([{ op: 'replace', path: '/nothing_here', value: 'x' }])).status).to.equal(409);
    expect((await patch([{ op: 'remove', path: '/nothing_here' }])).status).to.equal(409);
    expect((await patch([{ op: 'add', path: '/min_ram', value: 'lots' }])).status).to.equal(400);
    expect((await patch([{ op: 'add', path: '/custom', value: 5 }])).status).to.equal(400);
    expect((await patch([{ op: 'move', path: '/name' }])).status).to.equal(400);
    const wrong = await patch([{ op: 'replace', path: '/name', value: 'x' }], 'application/json');
    expect(wrong.status).to.equal(415);
    expect(wrong.headers.get('accept-patch')).to.equal('application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch');
  });

  it('tags: PUT and DELETE; protected images cannot be deleted; delete removes the data', async () => {
    const img = await create({ name: 'tagged', disk_format: 'raw', container_format: 'bare', protected: true });
    expect((await h.request('PUT', `/image/v2/images/${img.id}/tags/blue`)).status).to.equal(204);
    expect((await h.request('PUT', `/image/v2/images/${img.id}/tags/blue`)).status).to.equal(204);
    expect(((await h.request('GET', `/image/v2/images/${img.id}`)).json as Image).tags).to.deep.equal(['blue']);
    expect((await h.request('DELETE', `/image/v2/images/${img.id}/tags/blue`)).status).to.equal(204);
    expect((await h.request('DELETE', `/image/v2/images/${img.id}/tags/blue`)).status).to.equal(404);
    expect((await upload(img.id, Buffer.from('payload'))).status).to.equal(204);
    const files = () => existsSync(join(h.dataDir, 'images')) ? readdirSync(join(h.dataDir, 'images')) : [];
    expect(files()).to.include(img.id);
    const refused = await h.request('DELETE', `/image/v2/images/${img.id}`);
    expect(refused.status).to.equal(403);
    expect(refused.text).to.contain('is protected and cannot be deleted');
    await h.request('PATCH', `/image/v2/images/${img.id}`, { raw: JSON.stringify([{ op: 'replace', path: '/protected', value: false }]), headers: { 'content-type': PATCH } });
    expect((await h.request('DELETE', `/image/v2/images/${img.id}`)).status).to.equal(204);
    expect((await h.request('GET', `/image/v2/images/${img.id}`)).status).to.equal(404);
    expect(files()).to.not.include(img.id);
  });

  it('deactivate and reactivate: the admin or the owner; download forbidden to non-admins meanwhile', async () => {
    const other = await secondProject(h, 'deact');
    const img = await create({ name: 'pub', disk_format: 'raw', container_format: 'bare', visibility: 'public' });
    expect((await upload(img.id, Buffer.from('public data'))).status).to.equal(204);
    expect((await h.request('POST', `/image/v2/images/${img.id}/actions/deactivate`, { token: other.token })).status).to.equal(403);
    expect((await h.request('POST', `/image/v2/images/${img.id}/actions/deactivate`)).status).to.equal(204);
    expect(((await h.request('GET', `/image/v2/images/${img.id}`)).json as Image).status).to.equal('deactivated');
    const dl = await h.request('GET', `/image/v2/images/${img.id}/file`, { token: other.token });
    expect(dl.status).to.equal(403);
    expect(dl.text).to.contain('deactivated');
    expect((await h.request('GET', `/image/v2/images/${img.id}/file`)).status).to.equal(200);
    expect((await h.request('POST', `/image/v2/images/${img.id}/actions/reactivate`)).status).to.equal(204);
    const ok = await h.request('GET', `/image/v2/images/${img.id}/file`, { token: other.token });
    expect(ok.status).to.equal(200);
    expect(ok.text).to.equal('public data');
    const queued = await create({ name: 'q' });
    expect((await h.request('POST', `/image/v2/images/${queued.id}/actions/deactivate`)).status).to.equal(403);
    // An owner who is no admin may deactivate its own image, and then may not download it.
    const own = await create({ name: 'own', disk_format: 'raw', container_format: 'bare' }, other.token);
    expect((await upload(own.id, Buffer.from('own data'), other.token)).status).to.equal(204);
    expect((await h.request('POST', `/image/v2/images/${own.id}/actions/deactivate`, { token: other.token })).status).to.equal(204);
    expect((await h.request('POST', `/image/v2/images/${own.id}/actions/deactivate`, { token: other.token })).status).to.equal(204);
    expect((await h.request('GET', `/image/v2/images/${own.id}/file`, { token: other.token })).status).to.equal(403);
    expect((await h.request('POST', `/image/v2/images/${own.id}/actions/reactivate`, { token: other.token })).status).to.equal(204);
    expect((await h.request('GET', `/image/v2/images/${own.id}/file`, { token: other.token })).text).to.equal('own data');
  });

  it('visibility and members between two projects', async () => {
    const bob = await secondProject(h, 'bobs');
    const priv = await create({ name: 'vis-private', visibility: 'private' });
    const shared = await create({ name: 'vis-shared', visibility: 'shared' });
    const comm = await create({ name: 'vis-community', visibility: 'community' });
    const names = async (token: string, query = '') => ((await h.request('GET', `/image/v2/images?limit=1000${query}`, { token })).json as ImageList).images.map((i) => i.name);

    expect((await h.request('GET', `/image/v2/images/${priv.id}`, { token: bob.token })).status).to.equal(404);
    expect((await h.request('GET', `/image/v2/images/${shared.id}`, { token: bob.token })).status).to.equal(404);
    expect((await h.request('GET', `/image/v2/images/${comm.id}`, { token: bob.token })).status).to.equal(200);
    expect(await names(bob.token)).to.not.include.members(['vis-private', 'vis-shared', 'vis-community']);
    expect(await names(bob.token, '&visibility=community')).to.include('vis-community');
    const pub = await h.request('POST', '/image/v2/images', { body: { name: 'nope', visibility: 'public' }, token: bob.token });
    expect(pub.status).to.equal(403);

    // members only on shared images
    expect((await h.request('POST', `/image/v2/images/${priv.id}/members`, { body: { member: bob.id } })).status).to.equal(403);
    const add = await h.request('POST', `/image/v2/images/${shared.id}/members`, { body: { member: bob.id } });
    expect(add.status, add.text).to.equal(200);
    expect(add.json).to.include({ image_id: shared.id, member_id: bob.id, status: 'pending', schema: '/v2/schemas/member' });
    expect((await h.request('POST', `/image/v2/images/${shared.id}/members`, { body: { member: bob.id } })).status).to.equal(409);

    // pending: bob may look it up but does not list it, unless asking for pending ones
    expect((await h.request('GET', `/image/v2/images/${shared.id}`, { token: bob.token })).status).to.equal(200);
    expect(await names(bob.token)).to.not.include('vis-shared');
    expect(await names(bob.token, '&member_status=pending')).to.include('vis-shared');
    // the owner may not accept for bob; bob may
    expect((await h.request('PUT', `/image/v2/images/${shared.id}/members/${bob.id}`, { body: { status: 'accepted' } , token: null, headers: { 'x-auth-token': await h.login('bobs-user', 'pw-secret-1', 'bobs') } })).status).to.equal(200);
    expect(await names(bob.token)).to.include('vis-shared');
    const mine = await h.request('GET', `/image/v2/images/${shared.id}/members`, { token: bob.token });
    expect((mine.json as { members: { member_id: string; status: string }[] }).members).to.deep.equal([
      { ...(mine.json as { members: object[] }).members[0], member_id: bob.id, status: 'accepted' },
    ]);
    expect((await h.request('PUT', `/image/v2/images/${shared.id}/members/${bob.id}`, { body: { status: 'maybe' }, token: bob.token })).status).to.equal(400);
    expect((await h.request('PUT', `/image/v2/images/${shared.id}/members/${bob.id}`, { body: { status: 'rejected' }, token: bob.token })).status).to.equal(200);
    expect(await names(bob.token)).to.not.include('vis-shared');
    expect((await h.request('GET', `/image/v2/images/${shared.id}/members/${bob.id}`)).json).to.include({ status: 'rejected' });
    // bob cannot change or delete the owner's image, nor remove himself
    const ch = await h.request('PATCH', `/image/v2/images/${shared.id}`, { raw: '[{"op":"replace","path":"/name","value":"mine"}]', headers: { 'content-type': PATCH }, token: bob.token });
    expect(ch.status).to.equal(403);
    expect((await h.request('DELETE', `/image/v2/images/${shared.id}`, { token: bob.token })).status).to.equal(403);
    expect((await h.request('DELETE', `/image/v2/images/${shared.id}/members/${bob.id}`, { token: bob.token })).status).to.equal(403);
    expect((await h.request('DELETE', `/image/v2/images/${shared.id}/members/${bob.id}`)).status).to.equal(204);
    expect((await h.request('GET', `/image/v2/images/${shared.id}`, { token: bob.token })).status).to.equal(404);
    // the admin sees bob's private image; bob's list has his own
    const bobs = await create({ name: 'bobs-private', visibility: 'private' }, bob.token);
    expect(bobs.owner).to.equal(bob.id);
    expect(await names(bob.token)).to.include('bobs-private');
    expect((await h.request('GET', `/image/v2/images/${bobs.id}`)).status).to.equal(200);
    expect(await names(h.adminToken, `&owner=${bob.id}`)).to.deep.equal(['bobs-private']);
  });

  it('pages with limit and marker, with first, next and schema; sorts; filters', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await create({ name: `page-${i}`, disk_format: 'raw', container_format: 'bare', tags: ['paging'], ...(i % 2 ? { color: 'red' } : {}) })).id);
      await new Promise((r) => setTimeout(r, 1100)); // created_at has one-second resolution
    }
    const first = await h.request('GET', '/image/v2/images?tag=paging&limit=2');
    const p1 = first.json as ImageList;
    expect(p1.images.map((i) => i.name)).to.deep.equal(['page-4', 'page-3']);
    expect(p1.first).to.equal('/v2/images?tag=paging&limit=2');
    expect(p1.schema).to.equal('/v2/schemas/images');
    expect(p1.next).to.equal(`/v2/images?tag=paging&limit=2&marker=${ids[3]}`);
    const p2 = (await h.request('GET', `/image${p1.next}`)).json as ImageList;
    expect(p2.images.map((i) => i.name)).to.deep.equal(['page-2', 'page-1']);
    const p3 = (await h.request('GET', `/image${p2.next}`)).json as ImageList;
    expect(p3.images.map((i) => i.name)).to.deep.equal(['page-0']);
    expect(p3).to.not.have.property('next');
    expect((await h.request('GET', '/image/v2/images?marker=00000000-0000-0000-0000-000000000000')).status).to.equal(400);

    const asc = (await h.request('GET', '/image/v2/images?tag=paging&sort=name:asc')).json as ImageList;
    expect(asc.images.map((i) => i.name)).to.deep.equal(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    const old = (await h.request('GET', '/image/v2/images?tag=paging&sort_key=name&sort_dir=desc')).json as ImageList;
    expect(old.images.map((i) => i.name)).to.deep.equal(['page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
    expect((await h.request('GET', '/image/v2/images?sort_key=bogus')).status).to.equal(400);
    expect((await h.request('GET', '/image/v2/images?sort=name:asc&sort_key=name')).status).to.equal(400);

    expect((await h.request('GET', '/image/v2/images/')).status).to.equal(404);
    const byName = (await h.request('GET', '/image/v2/images?name=page-3')).json as ImageList;
    expect(byName.images.map((i) => i.id)).to.deep.equal([ids[3]]);
    const byIn = (await h.request('GET', '/image/v2/images?name=in:page-1,page-2&sort=name:asc')).json as ImageList;
    expect(byIn.images.map((i) => i.name)).to.deep.equal(['page-1', 'page-2']);
    const red = (await h.request('GET', '/image/v2/images?tag=paging&color=red')).json as ImageList;
    expect(red.images.map((i) => i.name).sort()).to.deep.equal(['page-1', 'page-3']);
    const queued = (await h.request('GET', '/image/v2/images?tag=paging&status=active')).json as ImageList;
    expect(queued.images).to.have.length(0);

    expect((await upload(ids[0]!, Buffer.alloc(100))).status).to.equal(204);
    expect((await upload(ids[1]!, Buffer.alloc(300))).status).to.equal(204);
    const sized = (await h.request('GET', '/image/v2/images?tag=paging&size_min=50&size_max=200')).json as ImageList;
    expect(sized.images.map((i) => i.name)).to.deep.equal(['page-0']);
    const exact = (await h.request('GET', '/image/v2/images?tag=paging&size=300')).json as ImageList;
    expect(exact.images.map((i) => i.name)).to.deep.equal(['page-1']);

    await h.request('PATCH', `/image/v2/images/${ids[2]}`, { raw: '[{"op":"replace","path":"/os_hidden","value":true}]', headers: { 'content-type': PATCH } });
    const shown = (await h.request('GET', '/image/v2/images?tag=paging')).json as ImageList;
    expect(shown.images.map((i) => i.name)).to.not.include('page-2');
    const hidden = (await h.request('GET', '/image/v2/images?tag=paging&os_hidden=true')).json as ImageList;
    expect(hidden.images.map((i) => i.name)).to.deep.equal(['page-2']);
  });

  it('imageSide: image() applies the visibility rules; snapshotImage() makes an active private image with the data', async () => {
    const side = (h.gateway.drivers.image as unknown as { cloud: SandboxCloud }).cloud.image;
    const admin = await projectId(h, 'admin');
    const other = await secondProject(h, 'side');
    const src = await create({ name: 'side-src', disk_format: 'qcow2', container_format: 'bare', visibility: 'private', os_distro: 'fedora', min_disk: 2 });
    const data = randomBytes(64 * 1024);
    expect((await upload(src.id, data)).status).to.equal(204);
    expect(side.image(admin, src.id)?.id).to.equal(src.id);
    expect(side.image(other.id, src.id)).to.equal(undefined);
    expect(side.image(admin, '00000000-0000-0000-0000-000000000000')).to.equal(undefined);

    const snap = side.snapshotImage(admin, 'snap-1', src.id, { instance_uuid: 'abc', user_id: 'u1' });
    expect(snap).to.include({ status: 'active', visibility: 'private', owner: admin, size: data.length, disk_format: 'qcow2', min_disk: 2 });
    const shown = (await h.request('GET', `/image/v2/images/${snap.id}`)).json as Image;
    expect(shown).to.include({ name: 'snap-1', status: 'active', checksum: md5(data), os_hash_value: sha512(data), image_type: 'snapshot', instance_uuid: 'abc', os_distro: 'fedora', base_image_ref: src.id });
    const down = await fetch(`${h.url}/image/v2/images/${snap.id}/file`, { headers: { 'x-auth-token': h.adminToken } });
    expect(Buffer.from(await down.arrayBuffer()).equals(data)).to.equal(true);
    // Deleting the source leaves the snapshot's data whole.
    expect((await h.request('DELETE', `/image/v2/images/${src.id}`)).status).to.equal(204);
    const again = await fetch(`${h.url}/image/v2/images/${snap.id}/file`, { headers: { 'x-auth-token': h.adminToken } });
    expect(Buffer.from(await again.arrayBuffer()).equals(data)).to.equal(true);

    const empty = side.snapshotImage(other.id, 'volume-backed', null, { block_device_mapping: '[]' });
    expect(empty).to.include({ status: 'active', size: 0, owner: other.id });
    expect(side.image(admin, empty.id)).to.equal(undefined);
    expect(side.image(other.id, empty.id)?.name).to.equal('volume-backed');
  });

  it('serves the image, images, member and members schemas and the import info', async () => {
    const image = await h.request('GET', '/image/v2/schemas/image');
    expect(image.status, image.text).to.equal(200);
    const s = image.json as { name: string; properties: Record<string, { type: unknown }>; additionalProperties: unknown; links: { rel: string; href: string }[] };
    expect(s.name).to.equal('image');
    expect(s.properties.id!.type).to.equal('string');
    expect(s.properties.size!.type).to.deep.equal(['null', 'integer']);
    expect(s.properties).to.include.keys('checksum', 'os_hash_algo', 'os_hash_value', 'visibility', 'tags', 'locations', 'os_hidden');
    expect(s.additionalProperties).to.deep.equal({ type: 'string' });
    expect(s.links).to.deep.equal([{ rel: 'self', href: '{self}' }, { rel: 'enclosure', href: '{file}' }, { rel: 'describedby', href: '{schema}' }]);
    const images = (await h.request('GET', '/image/v2/schemas/images')).json as { name: string; properties: { images: { items: { name: string } } } };
    expect(images.name).to.equal('images');
    expect(images.properties.images.items.name).to.equal('image');
    expect(((await h.request('GET', '/image/v2/schemas/member')).json as { name: string }).name).to.equal('member');
    expect(((await h.request('GET', '/image/v2/schemas/members')).json as { name: string }).name).to.equal('members');
    expect((await h.request('GET', '/image/v2/info/import')).json).to.have.property('import-methods');
  });

  it('refuses to delete an image a server was booted from (409 naming the server), then deletes it once the server is gone', async () => {
    const img = await create({ name: 'booted', disk_format: 'raw', container_format: 'bare' });
    expect((await upload(img.id, randomBytes(2048))).status).to.equal(204);
    const s = await h.request('POST', '/compute/v2.1/servers', { body: { server: { name: 'uses-image', flavorRef: '1', imageRef: img.id, networks: 'none' } }, headers: { 'openstack-api-version': 'compute 2.37' } });
    expect(s.status, s.text).to.equal(202);
    const serverId = (s.json as { server: { id: string } }).server.id;
    const refused = await h.request('DELETE', `/image/v2/images/${img.id}`);
    expect(refused.status, refused.text).to.equal(409);
    expect(refused.text).to.contain(serverId);
    // The Nova images proxy goes through the same check.
    expect((await h.request('DELETE', `/compute/v2.1/images/${img.id}`)).status).to.equal(409);
    expect((await h.request('GET', `/image/v2/images/${img.id}`)).status).to.equal(200);
    expect((await h.request('DELETE', `/compute/v2.1/servers/${serverId}`)).status).to.equal(204);
    const gone = await h.request('DELETE', `/image/v2/images/${img.id}`);
    expect(gone.status, gone.text).to.equal(204);
  });
});

describe('sandbox: image size limit', () => {
  let h: Harness;
  before(async () => { h = await startGateway({ contract: true, sandbox: { maxImageBytes: 1024 } }); });
  after(() => h.close());

  it('answers 413 beyond maxImageBytes, removes the partial file and keeps the image queued', async () => {
    const r = await h.request('POST', '/image/v2/images', { body: { name: 'big', disk_format: 'raw', container_format: 'bare' } });
    const id = (r.json as Image).id;
    const put = (body: BodyInit, extra: RequestInit = {}) => fetch(`${h.url}/image/v2/images/${id}/file`, {
      method: 'PUT', headers: { 'x-auth-token': h.adminToken, 'content-type': 'application/octet-stream' }, body, ...extra,
    });
    const declared = await put(new Uint8Array(randomBytes(4096)));
    expect(declared.status).to.equal(413);
    // Without a length (chunked), the limit is found while streaming.
    const chunks = [randomBytes(700), randomBytes(700)];
    const stream = new ReadableStream<Uint8Array>({ pull(c) { const n = chunks.shift(); if (n) c.enqueue(n); else c.close(); } });
    const streamed = await put(stream, { duplex: 'half' } as RequestInit);
    expect(streamed.status).to.equal(413);
    expect(await streamed.text()).to.contain('too large');
    const shown = (await h.request('GET', `/image/v2/images/${id}`)).json as Image;
    expect(shown.status).to.equal('queued');
    const dir = join(h.dataDir, 'images');
    expect(existsSync(dir) ? readdirSync(dir) : []).to.deep.equal([]);
    const ok = await put(new Uint8Array(randomBytes(1024)));
    expect(ok.status).to.equal(204);
  });
});
