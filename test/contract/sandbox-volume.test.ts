/**
 * The sandbox's Cinder v3 over HTTP, every response checked against the spec
 * (contract mode): lifecycle with a short build delay, attach and detach by
 * actions and by /v3/attachments, extend, snapshots, types, quotas, isolation
 * between projects, lists, and the /v3/{project_id}/ route variant.
 */
import { expect } from 'chai';
import type { VolumeSide } from '../../drivers/sandbox/cloud.js';
import type { SandboxVolume } from '../../drivers/sandbox/volume.js';
import { startGateway, type Harness, type TestResponse } from '../helpers/gateway.js';

const DELAY = 50;

/**
 * A state the sandbox shows for DELAY ms from an action sent at `since`:
 * required when the read came back within that time, else it may have moved
 * on already (a loaded machine can take longer than DELAY between two requests).
 */
function expectTransitional(since: number, got: string | undefined, during: string, next: string): void {
  if (Date.now() - since < DELAY) expect(got).to.equal(during);
  else expect(got).to.be.oneOf([during, next]);
}

interface Vol {
  id: string; status: string; size: number; name: string | null; bootable: string; volume_type: string;
  attachments: { id: string; attachment_id: string; server_id: string; device: string | null }[];
  metadata: Record<string, string>; [k: string]: unknown;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sandbox: block storage (Cinder v3)', function () {
  this.timeout(30_000);
  let h: Harness;
  let adminProject: string;

  const mv = (v: string) => ({ 'openstack-api-version': `volume ${v}` });

  async function call(method: string, path: string, init: { body?: unknown; token?: string | null; headers?: Record<string, string> } = {}): Promise<TestResponse> {
    const res = await h.request(method, `/volume${path}`, init);
    expect(res.headers.get('x-stackgate-contract-violation'), `${method} ${path}: ${res.text}`).to.equal(null);
    return res;
  }

  async function create(body: Record<string, unknown>, token?: string): Promise<Vol> {
    const res = await call('POST', '/v3/volumes', { body: { volume: body }, token });
    expect(res.status, res.text).to.equal(202);
    return (res.json as { volume: Vol }).volume;
  }

  async function show(id: string, token?: string, headers?: Record<string, string>): Promise<Vol> {
    const res = await call('GET', `/v3/volumes/${id}`, { token, headers });
    expect(res.status, res.text).to.equal(200);
    return (res.json as { volume: Vol }).volume;
  }

  async function waitFor(id: string, status: string, token?: string): Promise<Vol> {
    for (let i = 0; i < 100; i++) {
      const v = await show(id, token);
      if (v.status === status) return v;
      await sleep(10);
    }
    throw new Error(`volume ${id} never became ${status}`);
  }

  async function action(id: string, body: unknown, headers?: Record<string, string>, token?: string): Promise<TestResponse> {
    return call('POST', `/v3/volumes/${id}/action`, { body, headers, token });
  }

  async function ready(body: Record<string, unknown> = { size: 1 }, token?: string): Promise<Vol> {
    const v = await create(body, token);
    return waitFor(v.id, 'available', token);
  }

  before(async () => {
    h = await startGateway({ contract: true, sandbox: { buildDelayMs: DELAY } });
    adminProject = h.gateway.identity.projectByName('default', 'admin')!.id;
  });
  after(() => h.close());

  it('creates a volume: 202 creating, then available after the build delay, with Cinder\'s fields', async () => {
    const v = await create({ size: 1, name: 'first', description: 'a disk', metadata: { purpose: 'test' } });
    expect(v.status).to.equal('creating');
    expect(v).to.include({ size: 1, name: 'first', description: 'a disk', bootable: 'false', encrypted: false, multiattach: false, availability_zone: 'nova', volume_type: '__DEFAULT__', snapshot_id: null, source_volid: null });
    expect(v.metadata).to.deep.equal({ purpose: 'test' });
    // the os-vol-* extension attributes are on show and detail, not on create
    expect(v).to.not.have.property('os-vol-tenant-attr:tenant_id');
    expect(v).to.include({ migration_status: null });
    expect(v.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const links = v.links as { rel: string; href: string }[];
    expect(links[0]!.href).to.equal(`${h.url}/volume/v3/${adminProject}/volumes/${v.id}`);
    const done = await waitFor(v.id, 'available');
    expect(done.attachments).to.deep.equal([]);
    expect(done['os-vol-tenant-attr:tenant_id']).to.equal(adminProject);
    expect(done['os-vol-host-attr:host']).to.equal('sandbox@sandbox#sandbox');
    expect(done).to.include({ 'os-vol-mig-status-attr:migstat': null, 'os-vol-mig-status-attr:name_id': null });
    // fields by microversion
    const late = await show(v.id, undefined, mv('3.65'));
    expect(late).to.include({ group_id: null, shared_targets: false, consumes_quota: true });
    expect(late.volume_type_id).to.be.a('string');
    expect(done).to.not.have.property('volume_type_id');
    // the default type exists
    const types = await call('GET', '/v3/types');
    expect((types.json as { volume_types: { name: string }[] }).volume_types.map((t) => t.name)).to.include('__DEFAULT__');
  });

  it('updates, then deletes: 202, deleting, then 404', async () => {
    const v = await ready({ size: 1, name: 'doomed' });
    const up = await call('PUT', `/v3/volumes/${v.id}`, { body: { volume: { name: 'renamed', description: 'x' } } });
    expect(up.status, up.text).to.equal(200);
    expect((up.json as { volume: Vol }).volume).to.include({ name: 'renamed', description: 'x' });
    const deleting = Date.now();
    const del = await call('DELETE', `/v3/volumes/${v.id}`);
    expect(del.status, del.text).to.equal(202);
    expect(del.text).to.equal('');
    const during = await call('GET', `/v3/volumes/${v.id}`);
    // Deleting for DELAY ms, then gone (never gone sooner).
    if (during.status === 200) expect((during.json as { volume: Vol }).volume.status).to.equal('deleting');
    else {
      expect(during.status).to.equal(404);
      expect(Date.now() - deleting).to.be.at.least(DELAY);
    }
    await sleep(DELAY + 20);
    const gone = await call('GET', `/v3/volumes/${v.id}`);
    expect(gone.status).to.equal(404);
    expect(gone.json).to.deep.equal({ itemNotFound: { code: 404, message: `Volume ${v.id} could not be found.` } });
  });

  it('rejects bad sizes and unknown types and zones as Cinder does', async () => {
    const zero = await call('POST', '/v3/volumes', { body: { volume: { size: 0 } } });
    expect(zero.status).to.equal(400);
    const type = await call('POST', '/v3/volumes', { body: { volume: { size: 1, volume_type: 'nope' } } });
    expect(type.status).to.equal(404);
    const az = await call('POST', '/v3/volumes', { body: { volume: { size: 1, availability_zone: 'mars' } } });
    expect(az.status).to.equal(400);
    expect((az.json as { badRequest: { message: string } }).badRequest.message).to.include("Availability zone 'mars' is invalid");
  });

  it('attaches and detaches through the actions; an in-use volume cannot be deleted', async () => {
    const v = await ready();
    const server = '8a1c4f3e-1111-4a5b-9c7d-0123456789ab';
    expect((await action(v.id, { 'os-reserve': null })).status).to.equal(202);
    expect((await show(v.id)).status).to.equal('attaching');
    const conn = await action(v.id, { 'os-initialize_connection': { connector: { host: 'compute-1' } } });
    expect(conn.status, conn.text).to.equal(200);
    expect((conn.json as { connection_info: { driver_volume_type: string } }).connection_info.driver_volume_type).to.equal('local');
    const att = await action(v.id, { 'os-attach': { instance_uuid: server, mountpoint: '/dev/vdb' } });
    expect(att.status, att.text).to.equal(202);
    const inUse = await show(v.id);
    expect(inUse.status).to.equal('in-use');
    expect(inUse.attachments).to.have.length(1);
    expect(inUse.attachments[0]).to.include({ id: v.id, server_id: server, device: '/dev/vdb', volume_id: v.id });
    expect(inUse.metadata).to.include({ attached_mode: 'rw' });

    const del = await call('DELETE', `/v3/volumes/${v.id}`);
    expect(del.status).to.equal(400);
    expect(del.json).to.deep.equal({ badRequest: { code: 400, message: 'Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.' } });
    // attaching an in-use volume again is refused
    expect((await action(v.id, { 'os-reserve': null })).status).to.equal(400);

    expect((await action(v.id, { 'os-begin_detaching': null })).status).to.equal(202);
    expect((await show(v.id)).status).to.equal('detaching');
    expect((await action(v.id, { 'os-roll_detaching': null })).status).to.equal(202);
    expect((await show(v.id)).status).to.equal('in-use');
    expect((await action(v.id, { 'os-terminate_connection': { connector: { host: 'compute-1' } } })).status).to.equal(202);
    const det = await action(v.id, { 'os-detach': { attachment_id: inUse.attachments[0]!.attachment_id } });
    expect(det.status, det.text).to.equal(202);
    const free = await show(v.id);
    expect(free).to.include({ status: 'available' });
    expect(free.attachments).to.deep.equal([]);
    expect(free.metadata).to.not.have.property('attached_mode');
    // os-reserve then os-unreserve goes back to available
    await action(v.id, { 'os-reserve': null });
    await action(v.id, { 'os-unreserve': null });
    expect((await show(v.id)).status).to.equal('available');
    expect((await call('DELETE', `/v3/volumes/${v.id}`)).status).to.equal(202);
  });

  it('attaches through /v3/attachments (reserve, update with a connector, complete, delete)', async () => {
    const v = await ready();
    const server = '0f3d8a4e-2222-4b6c-8d9e-abcdefabcdef';
    const old = await call('POST', '/v3/attachments', { body: { attachment: { volume_uuid: v.id, instance_uuid: server } } });
    expect(old.status, 'attachments need 3.27').to.equal(404);
    const H = mv('3.54');
    const created = await call('POST', '/v3/attachments', { body: { attachment: { volume_uuid: v.id, instance_uuid: server } }, headers: H });
    expect(created.status, created.text).to.equal(200);
    const a = (created.json as { attachment: Record<string, unknown> }).attachment;
    expect(a).to.include({ status: 'reserved', instance: server, volume_id: v.id, attached_at: '', connection_info: null });
    expect((await show(v.id)).status).to.equal('reserved');
    const upd = await call('PUT', `/v3/attachments/${a.id as string}`, { body: { attachment: { connector: { host: 'compute-1', mountpoint: '/dev/vdc', mode: 'rw' } } }, headers: H });
    expect(upd.status, upd.text).to.equal(200);
    const u = (upd.json as { attachment: { status: string; connection_info: { driver_volume_type: string } } }).attachment;
    expect(u.status).to.equal('attaching');
    expect(u.connection_info.driver_volume_type).to.equal('local');
    const done = await call('POST', `/v3/attachments/${a.id as string}/action`, { body: { 'os-complete': null }, headers: H });
    expect(done.status, done.text).to.equal(204);
    const vol = await show(v.id);
    expect(vol.status).to.equal('in-use');
    expect(vol.attachments[0]).to.include({ attachment_id: a.id, server_id: server, device: '/dev/vdc' });
    const listed = await call('GET', `/v3/attachments/detail?volume_id=${v.id}`, { headers: H });
    expect((listed.json as { attachments: { id: string; status: string }[] }).attachments).to.deep.include.members([]);
    expect((listed.json as { attachments: { id: string; status: string }[] }).attachments.map((x) => [x.id, x.status])).to.deep.equal([[a.id, 'attached']]);
    const one = await call('GET', `/v3/attachments/${a.id as string}`, { headers: H });
    expect((one.json as { attachment: { attached_at: string } }).attachment.attached_at).to.match(/^\d{4}-/);
    const del = await call('DELETE', `/v3/attachments/${a.id as string}`, { headers: H });
    expect(del.status, del.text).to.equal(200);
    expect(del.json).to.deep.equal({ attachments: [] });
    expect((await show(v.id)).status).to.equal('available');
    expect((await call('GET', `/v3/attachments/${a.id as string}`, { headers: H })).status).to.equal(404);
  });

  it('extends only larger, only available (in-use from 3.42), and honours the gigabytes quota', async () => {
    const v = await ready({ size: 1 });
    const smaller = await action(v.id, { 'os-extend': { new_size: 1 } });
    expect(smaller.status).to.equal(400);
    expect((smaller.json as { badRequest: { message: string } }).badRequest.message).to.equal('Invalid input received: New size for extend must be greater than current size. (current: 1, extended: 1).');
    const extending = Date.now();
    const ok = await action(v.id, { 'os-extend': { new_size: 2 } });
    expect(ok.status, ok.text).to.equal(202);
    expectTransitional(extending, (await show(v.id)).status, 'extending', 'available');
    const done = await waitFor(v.id, 'available');
    expect(done.size).to.equal(2);
    await action(v.id, { 'os-attach': { instance_uuid: '8a1c4f3e-3333-4a5b-9c7d-0123456789ab', mountpoint: '/dev/vdb' } });
    const inUse = await action(v.id, { 'os-extend': { new_size: 3 } });
    expect(inUse.status).to.equal(400);
    expect((inUse.json as { badRequest: { message: string } }).badRequest.message).to.include("must be 'available' to extend, currently in-use");
    const live = await action(v.id, { 'os-extend': { new_size: 3 } }, mv('3.42'));
    expect(live.status, live.text).to.equal(202);
    expect((await waitFor(v.id, 'in-use')).size).to.equal(3);
    const huge = await action(v.id, { 'os-extend': { new_size: 5000 } }, mv('3.42'));
    expect(huge.status).to.equal(413);
    expect((huge.json as { overLimit: { message: string } }).overLimit.message).to.include('exceeds allowed gigabytes quota');
    await action(v.id, { 'os-detach': null });
    expect((await call('DELETE', `/v3/volumes/${v.id}`)).status).to.equal(202);
  });

  it('snapshots: force for in-use, creating → available, a volume with snapshots is not deleted, then cascade', async () => {
    const v = await ready({ size: 1, name: 'snapped' });
    await action(v.id, { 'os-attach': { instance_uuid: '8a1c4f3e-4444-4a5b-9c7d-0123456789ab', mountpoint: '/dev/vdb' } });
    const refused = await call('POST', '/v3/snapshots', { body: { snapshot: { volume_id: v.id, name: 's0' } } });
    expect(refused.status).to.equal(400);
    const forced = await call('POST', '/v3/snapshots', { body: { snapshot: { volume_id: v.id, name: 's1', force: true, metadata: { k: 'v' } } } });
    expect(forced.status, forced.text).to.equal(202);
    const s = (forced.json as { snapshot: Record<string, unknown> }).snapshot;
    expect(s).to.include({ status: 'creating', size: 1, volume_id: v.id, name: 's1' });
    await action(v.id, { 'os-detach': null });
    await sleep(DELAY + 20);
    const shown = await call('GET', `/v3/snapshots/${s.id as string}`);
    expect((shown.json as { snapshot: Record<string, unknown> }).snapshot).to.include({ status: 'available', 'os-extended-snapshot-attributes:progress': '100%', 'os-extended-snapshot-attributes:project_id': adminProject });
    const list = await call('GET', `/v3/snapshots?volume_id=${v.id}`);
    expect((list.json as { snapshots: { id: string }[] }).snapshots.map((x) => x.id)).to.deep.equal([s.id]);
    const detail = await call('GET', '/v3/snapshots/detail', { headers: mv('3.41') });
    expect((detail.json as { snapshots: Record<string, unknown>[] }).snapshots.find((x) => x.id === s.id)).to.have.property('user_id');

    // snapshot metadata
    const sid = s.id as string;
    expect((await call('POST', `/v3/snapshots/${sid}/metadata`, { body: { metadata: { a: '1' } } })).status).to.equal(200);
    expect((await call('GET', `/v3/snapshots/${sid}/metadata`)).json).to.deep.equal({ metadata: { k: 'v', a: '1' } });
    expect((await call('PUT', `/v3/snapshots/${sid}/metadata/a`, { body: { meta: { a: '2' } } })).json).to.deep.equal({ meta: { a: '2' } });
    expect((await call('DELETE', `/v3/snapshots/${sid}/metadata/a`)).status).to.equal(200);
    expect((await call('PUT', `/v3/snapshots/${sid}/metadata`, { body: { metadata: { z: '9' } } })).json).to.deep.equal({ metadata: { z: '9' } });
    expect((await call('GET', '/v3/snapshots?limit=0')).json).to.deep.equal({ snapshots: [] });
    const hosts = await call('GET', '/v3/os-hosts');
    expect((hosts.json as { hosts: { host_name: string }[] }).hosts.map((x) => x.host_name)).to.include('sandbox@sandbox');
    const host = await call('GET', '/v3/os-hosts/sandbox@sandbox');
    expect((host.json as { host: { resource: { project: string } }[] }).host[0]!.resource.project).to.equal('(total)');

    const withSnaps = await call('DELETE', `/v3/volumes/${v.id}`);
    expect(withSnaps.status).to.equal(400);
    expect((withSnaps.json as { badRequest: { message: string } }).badRequest.message).to.include('have snapshots');
    // a volume from the snapshot
    const child = await create({ snapshot_id: s.id as string, name: 'from-snap' });
    expect(child).to.include({ size: 1, snapshot_id: s.id });
    await waitFor(child.id, 'available');
    const second = await call('POST', '/v3/snapshots', { body: { snapshot: { volume_id: v.id, name: 's2' } } });
    expect(second.status).to.equal(202);
    await sleep(DELAY + 20);
    const sdel = await call('DELETE', `/v3/snapshots/${(second.json as { snapshot: { id: string } }).snapshot.id}`);
    expect(sdel.status, sdel.text).to.equal(202);
    const cascade = await call('DELETE', `/v3/volumes/${v.id}?cascade=true`);
    expect(cascade.status, cascade.text).to.equal(202);
    await sleep(DELAY + 20);
    expect((await call('GET', `/v3/snapshots/${s.id as string}`)).status).to.equal(404);
    expect((await call('GET', `/v3/volumes/${v.id}`)).status).to.equal(404);
    await call('DELETE', `/v3/volumes/${child.id}`);
  });

  it('backups: create (summary), detail, restore to a new volume, export, delete, import', async () => {
    const v = await ready({ size: 1, name: 'backed', metadata: { 'vol-meta': 'kept' } });
    const backingUp = Date.now();
    const c = await call('POST', '/v3/backups', { body: { backup: { volume_id: v.id, name: 'bk1' } } });
    expect(c.status, c.text).to.equal(202);
    const bk = (c.json as { backup: { id: string; name: string; links: unknown[] } }).backup;
    expect(Object.keys(bk).sort()).to.deep.equal(['id', 'links', 'name']);
    expectTransitional(backingUp, (await show(v.id)).status, 'backing-up', 'available');
    await waitFor(v.id, 'available');
    const shown = (await call('GET', `/v3/backups/${bk.id}`)).json as { backup: Record<string, unknown> };
    expect(shown.backup).to.include({ status: 'available', size: 1, volume_id: v.id, is_incremental: false, 'os-backup-project-attr:project_id': adminProject });
    const inc = await call('POST', '/v3/backups', { body: { backup: { volume_id: v.id, incremental: true } } });
    expect(inc.status, inc.text).to.equal(202);
    await waitFor(v.id, 'available');
    await sleep(DELAY + 20);
    expect((await call('DELETE', `/v3/backups/${bk.id}`)).status, 'the full backup has an incremental one').to.equal(400);
    const restoring = Date.now();
    const restore = await call('POST', `/v3/backups/${bk.id}/restore`, { body: { restore: { name: 'restored' } } });
    expect(restore.status, restore.text).to.equal(202);
    const r = (restore.json as { restore: { volume_id: string; volume_name: string } }).restore;
    expect(r.volume_name).to.equal('restored');
    expectTransitional(restoring, (await show(r.volume_id)).status, 'restoring-backup', 'available');
    expect((await waitFor(r.volume_id, 'available')).metadata).to.deep.equal({ 'vol-meta': 'kept' });
    const exp = await call('GET', `/v3/backups/${bk.id}/export_record`);
    expect(exp.status, exp.text).to.equal(200);
    const record = (exp.json as { 'backup-record': { backup_service: string; backup_url: string } })['backup-record'];
    await call('DELETE', `/v3/backups/${(inc.json as { backup: { id: string } }).backup.id}`);
    await sleep(DELAY + 20);
    expect((await call('DELETE', `/v3/backups/${bk.id}`)).status).to.equal(202);
    await sleep(DELAY + 20);
    expect((await call('GET', `/v3/backups/${bk.id}`)).status).to.equal(404);
    const imp = await call('POST', '/v3/backups/import_record', { body: { 'backup-record': record } });
    expect(imp.status, imp.text).to.equal(201);
    expect((imp.json as { backup: { id: string } }).backup.id).to.equal(bk.id);
    const limits = (await call('GET', '/v3/limits')).json as { limits: { absolute: Record<string, number> } };
    expect(limits.limits.absolute.totalBackupsUsed).to.equal(1);
    expect((await call('POST', `/v3/backups/${bk.id}/action`, { body: { 'os-reset_status': { status: 'error' } } })).status).to.equal(202);
    expect((await call('DELETE', `/v3/backups/${bk.id}`)).status).to.equal(202);
    for (const id of [v.id, r.volume_id]) await call('DELETE', `/v3/volumes/${id}`);
  });

  it('volume types: create (200), extra specs, private access, delete (202); the default one stays', async () => {
    const res = await call('POST', '/v3/types', { body: { volume_type: { name: 'gold', description: 'fast', extra_specs: { multiattach: '<is> True' } } } });
    expect(res.status, res.text).to.equal(200);
    const t = (res.json as { volume_type: Record<string, unknown> }).volume_type;
    expect(t).to.include({ name: 'gold', description: 'fast', is_public: true, 'os-volume-type-access:is_public': true });
    const dup = await call('POST', '/v3/types', { body: { volume_type: { name: 'gold' } } });
    expect(dup.status).to.equal(409);
    const spec = await call('POST', `/v3/types/${t.id as string}/extra_specs`, { body: { extra_specs: { volume_backend_name: 'sandbox' } } });
    expect(spec.status, spec.text).to.equal(200);
    const specs = await call('GET', `/v3/types/${t.id as string}/extra_specs`);
    expect(specs.json).to.deep.equal({ extra_specs: { multiattach: '<is> True', volume_backend_name: 'sandbox' } });
    const gv = await create({ size: 1, volume_type: 'gold' });
    expect(gv).to.include({ volume_type: 'gold', multiattach: true });
    const inUse = await call('DELETE', `/v3/types/${t.id as string}`);
    expect(inUse.status).to.equal(400);
    await waitFor(gv.id, 'available');
    await call('DELETE', `/v3/volumes/${gv.id}`);

    const priv = await call('POST', '/v3/types', { body: { volume_type: { name: 'secret', 'os-volume-type-access:is_public': false } } });
    const pid = (priv.json as { volume_type: { id: string } }).volume_type.id;
    const add = await call('POST', `/v3/types/${pid}/action`, { body: { addProjectAccess: { project: adminProject } } });
    expect(add.status, add.text).to.equal(202);
    const access = await call('GET', `/v3/types/${pid}/os-volume-type-access`);
    expect(access.json).to.deep.equal({ volume_type_access: [{ volume_type_id: pid, project_id: adminProject }] });
    expect((await call('POST', `/v3/types/${pid}/action`, { body: { removeProjectAccess: { project: adminProject } } })).status).to.equal(202);
    const up = await call('PUT', `/v3/types/${pid}`, { body: { volume_type: { description: 'hidden' } } });
    expect((up.json as { volume_type: { description: string } }).volume_type.description).to.equal('hidden');
    expect((await call('DELETE', `/v3/types/${pid}`)).status).to.equal(202);
    // encryption types: create (200), show, item, update, delete (202); volumes of the type are encrypted
    const enc = await call('POST', '/v3/types', { body: { volume_type: { name: 'luks' } } });
    const eid = (enc.json as { volume_type: { id: string } }).volume_type.id;
    const ec = await call('POST', `/v3/types/${eid}/encryption`, { body: { encryption: { provider: 'luks', cipher: 'aes-xts-plain64', key_size: 256, control_location: 'front-end' } } });
    expect(ec.status, ec.text).to.equal(200);
    expect((ec.json as { encryption: Record<string, unknown> }).encryption).to.include({ volume_type_id: eid, provider: 'luks', key_size: 256 });
    expect((await call('GET', `/v3/types/${eid}/encryption/cipher`)).json).to.deep.equal({ cipher: 'aes-xts-plain64' });
    const eu = await call('PUT', `/v3/types/${eid}/encryption/provider`, { body: { encryption: { key_size: 128, control_location: 'back-end' } } });
    expect(eu.json).to.deep.equal({ encryption: { key_size: 128, control_location: 'back-end' } });
    expect((await call('GET', `/v3/types/${eid}/encryption`)).json).to.include({ key_size: 128, control_location: 'back-end', provider: 'luks' });
    const ev = await create({ size: 1, volume_type: 'luks' });
    expect(ev.encrypted).to.equal(true);
    expect((await call('DELETE', `/v3/types/${eid}/encryption/provider`)).status).to.equal(400);
    await waitFor(ev.id, 'available');
    await call('DELETE', `/v3/volumes/${ev.id}`);
    await sleep(DELAY + 20);
    expect((await call('DELETE', `/v3/types/${eid}/encryption/provider`)).status).to.equal(202);
    expect((await call('GET', `/v3/types/${eid}/encryption`)).json).to.deep.equal({});

    // QoS specs: create (200), keys, associate with a type, delete refused while associated
    const qc = await call('POST', '/v3/qos-specs', { body: { qos_specs: { name: 'fast-io', consumer: 'back-end', read_iops_sec: '1000' } } });
    expect(qc.status, qc.text).to.equal(200);
    const qos = (qc.json as { qos_specs: { id: string; specs: Record<string, string> } }).qos_specs;
    expect(qos.specs).to.deep.equal({ read_iops_sec: '1000' });
    expect((await call('PUT', `/v3/qos-specs/${qos.id}`, { body: { qos_specs: { write_iops_sec: '500' } } })).json).to.deep.equal({ qos_specs: { write_iops_sec: '500' } });
    expect((await call('PUT', `/v3/qos-specs/${qos.id}/delete_keys`, { body: { keys: ['read_iops_sec'] } })).status).to.equal(202);
    expect(((await call('GET', `/v3/qos-specs/${qos.id}`)).json as { qos_specs: { specs: Record<string, string> } }).qos_specs.specs).to.deep.equal({ write_iops_sec: '500' });
    expect((await call('GET', `/v3/qos-specs/${qos.id}/associate?vol_type_id=${eid}`)).status).to.equal(202);
    expect((await call('GET', `/v3/qos-specs/${qos.id}/associations`)).json).to.deep.equal({ qos_associations: [{ association_type: 'volume_type', id: eid, name: 'luks' }] });
    expect(((await call('GET', `/v3/types/${eid}`)).json as { volume_type: { qos_specs_id: string } }).volume_type.qos_specs_id).to.equal(qos.id);
    expect((await call('DELETE', `/v3/qos-specs/${qos.id}`)).status).to.equal(400);
    expect((await call('GET', `/v3/qos-specs/${qos.id}/disassociate_all`)).status).to.equal(202);
    expect((await call('DELETE', `/v3/qos-specs/${qos.id}`)).status).to.equal(202);

    const dflt = (await call('GET', '/v3/types/default')).json as { volume_type: { id: string; name: string } };
    expect(dflt.volume_type.name).to.equal('__DEFAULT__');
    expect((await call('DELETE', `/v3/types/${dflt.volume_type.id}`)).status).to.equal(400);
  });

  describe('with a second project', () => {
    let demoToken: string;
    let demoProject: string;

    before(async () => {
      const p = await h.request('POST', '/identity/v3/projects', { body: { project: { name: 'vol-demo', domain_id: 'default' } } });
      demoProject = (p.json as { project: { id: string } }).project.id;
      const u = await h.request('POST', '/identity/v3/users', { body: { user: { name: 'vol-alice', password: 'alice-pass', domain_id: 'default', default_project_id: demoProject } } });
      const userId = (u.json as { user: { id: string } }).user.id;
      const roles = await h.request('GET', '/identity/v3/roles?name=member');
      const member = (roles.json as { roles: { id: string }[] }).roles[0]!.id;
      const grant = await h.request('PUT', `/identity/v3/projects/${demoProject}/users/${userId}/roles/${member}`);
      expect(grant.status, grant.text).to.equal(204);
      demoToken = await h.login('vol-alice', 'alice-pass', 'vol-demo');
    });

    it('keeps projects apart: 404 for another project\'s volume, all_tenants for admins only', async () => {
      const mine = await ready({ size: 1, name: 'admins' });
      const theirs = await ready({ size: 1, name: 'alices' }, demoToken);
      expect(theirs['os-vol-tenant-attr:tenant_id']).to.equal(demoProject);
      expect(theirs).to.not.have.property('os-vol-host-attr:host');
      const peek = await call('GET', `/v3/volumes/${mine.id}`, { token: demoToken });
      expect(peek.status).to.equal(404);
      expect((await action(mine.id, { 'os-extend': { new_size: 2 } }, undefined, demoToken)).status).to.equal(404);
      const list = await call('GET', '/v3/volumes', { token: demoToken });
      expect((list.json as { volumes: { id: string }[] }).volumes.map((v) => v.id)).to.deep.equal([theirs.id]);
      const adminList = await call('GET', '/v3/volumes');
      expect((adminList.json as { volumes: { id: string }[] }).volumes.map((v) => v.id)).to.not.include(theirs.id);
      const all = await call('GET', '/v3/volumes/detail?all_tenants=1');
      expect(all.status, all.text).to.equal(200);
      expect((all.json as { volumes: { id: string }[] }).volumes.map((v) => v.id)).to.include.members([mine.id, theirs.id]);
      expect((await call('GET', '/v3/volumes?all_tenants=1', { token: demoToken })).status).to.equal(403);
      expect((await call('POST', '/v3/types', { body: { volume_type: { name: 'mine' } }, token: demoToken })).status).to.equal(403);
      // the {project_id} route variant: the token's project is fine, another is not
      const viaProject = await call('GET', `/v3/${demoProject}/volumes/${theirs.id}`, { token: demoToken });
      expect(viaProject.status, viaProject.text).to.equal(200);
      expect((await call('GET', `/v3/${adminProject}/volumes`, { token: demoToken })).status).to.equal(403);
      await call('DELETE', `/v3/${demoProject}/volumes/${theirs.id}`, { token: demoToken });
      await call('DELETE', `/v3/volumes/${mine.id}`);
    });

    it('transfers a volume to the other project with its auth key', async () => {
      const v = await ready({ size: 1, name: 'gift' });
      const t = await call('POST', '/v3/os-volume-transfer', { body: { transfer: { volume_id: v.id, name: 'to-alice' } } });
      expect(t.status, t.text).to.equal(202);
      const tr = (t.json as { transfer: { id: string; auth_key: string; volume_id: string } }).transfer;
      expect(tr.volume_id).to.equal(v.id);
      expect((await show(v.id)).status).to.equal('awaiting-transfer');
      expect((await call('DELETE', `/v3/volumes/${v.id}`)).status).to.equal(400);
      const listed = await call('GET', '/v3/os-volume-transfer/detail');
      expect((listed.json as { transfers: { id: string }[] }).transfers.map((x) => x.id)).to.include(tr.id);
      expect((await call('GET', `/v3/os-volume-transfer/${tr.id}`, { token: demoToken })).status).to.equal(404);
      const wrong = await call('POST', `/v3/os-volume-transfer/${tr.id}/accept`, { body: { accept: { auth_key: 'nope' } }, token: demoToken });
      expect(wrong.status).to.equal(400);
      const ok = await call('POST', `/v3/os-volume-transfer/${tr.id}/accept`, { body: { accept: { auth_key: tr.auth_key } }, token: demoToken });
      expect(ok.status, ok.text).to.equal(202);
      const moved = await show(v.id, demoToken);
      expect(moved).to.include({ status: 'available', 'os-vol-tenant-attr:tenant_id': demoProject });
      expect((await call('GET', `/v3/os-volume-transfer/${tr.id}`)).status).to.equal(404);
      expect((await call('DELETE', `/v3/volumes/${v.id}`, { token: demoToken })).status).to.equal(202);
      await sleep(DELAY + 20); // a deleting volume still counts in the quota until it is gone
    });

    it('quotas: defaults, usage, update by admin, 413 over quota; limits', async () => {
      const q = await call('GET', `/v3/os-quota-sets/${demoProject}`, { token: demoToken });
      expect(q.status, q.text).to.equal(200);
      expect((q.json as { quota_set: Record<string, unknown> }).quota_set).to.include({ id: demoProject, volumes: 10, snapshots: 10, gigabytes: 1000 });
      const denied = await call('PUT', `/v3/os-quota-sets/${demoProject}`, { body: { quota_set: { volumes: 1 } }, token: demoToken });
      expect(denied.status).to.equal(403);
      const set = await call('PUT', `/v3/os-quota-sets/${demoProject}`, { body: { quota_set: { volumes: 1, gigabytes: 5 } } });
      expect(set.status, set.text).to.equal(200);
      expect((set.json as { quota_set: Record<string, unknown> }).quota_set).to.include({ volumes: 1, gigabytes: 5 });
      const one = await create({ size: 2, name: 'q1' }, demoToken);
      const two = await call('POST', '/v3/volumes', { body: { volume: { size: 1 } }, token: demoToken });
      expect(two.status).to.equal(413);
      expect(two.json).to.deep.equal({ overLimit: { code: 413, message: "VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded for quota 'volumes'." } });
      await call('PUT', `/v3/os-quota-sets/${demoProject}`, { body: { quota_set: { volumes: 5 } } });
      const big = await call('POST', '/v3/volumes', { body: { volume: { size: 4 } }, token: demoToken });
      expect(big.status).to.equal(413);
      expect((big.json as { overLimit: { message: string } }).overLimit.message).to.equal('VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested 4G, quota is 5G and 2G has been consumed.');
      const usage = await call('GET', `/v3/os-quota-sets/${demoProject}?usage=true`, { token: demoToken });
      expect((usage.json as { quota_set: Record<string, unknown> }).quota_set.volumes).to.deep.equal({ limit: 5, in_use: 1, reserved: 0, allocated: 0 });
      const limits = await call('GET', '/v3/limits', { token: demoToken });
      expect((limits.json as { limits: { absolute: Record<string, number> } }).limits.absolute).to.include({ maxTotalVolumes: 5, totalVolumesUsed: 1, maxTotalVolumeGigabytes: 5, totalGigabytesUsed: 2 });
      const defaults = await call('GET', `/v3/os-quota-sets/${demoProject}/defaults`);
      expect((defaults.json as { quota_set: Record<string, unknown> }).quota_set).to.include({ volumes: 10 });
      expect((await call('DELETE', `/v3/os-quota-sets/${demoProject}`)).status).to.equal(200);
      await waitFor(one.id, 'available', demoToken);
      await call('DELETE', `/v3/volumes/${one.id}`, { token: demoToken });
    });
  });

  it('lists page with limit/marker and volumes_links, filter by name, status, metadata, bootable, and sort', async () => {
    const made: Vol[] = [];
    for (const [name, color] of [['pg-a', 'red'], ['pg-b', 'blue'], ['pg-c', 'red']] as const) {
      made.push(await create({ size: 1, name, metadata: { color } }));
    }
    await sleep(DELAY + 20);
    // newest first, as Cinder sorts by created_at desc
    const all = await call('GET', '/v3/volumes');
    const ids = (all.json as { volumes: { id: string }[] }).volumes.map((v) => v.id);
    expect(ids.slice(0, 3)).to.deep.equal(made.map((v) => v.id).reverse());
    const page = await call('GET', '/v3/volumes/detail?limit=2');
    const body = page.json as { volumes: Vol[]; volumes_links: { rel: string; href: string }[] };
    expect(body.volumes).to.have.length(2);
    expect(body.volumes_links[0]!.rel).to.equal('next');
    const next = new URL(body.volumes_links[0]!.href);
    expect(next.searchParams.get('marker')).to.equal(body.volumes[1]!.id);
    const rest = await call('GET', `${next.pathname.replace(/^\/volume/, '')}${next.search}`);
    expect((rest.json as { volumes: { id: string }[] }).volumes[0]!.id).to.equal(ids[2]);
    expect((await call('GET', '/v3/volumes?marker=00000000-0000-0000-0000-000000000000')).status).to.equal(404);
    // a full page carries a next link even when nothing follows (Cinder's _get_collection_links)
    const lastFull = await call('GET', `/v3/volumes?limit=1&marker=${ids[ids.length - 2]!}`);
    expect((lastFull.json as { volumes_links?: unknown[] }).volumes_links).to.have.length(1);
    const empty = await call('GET', `/v3/volumes?limit=1&marker=${ids[ids.length - 1]!}`);
    expect(empty.json).to.deep.equal({ volumes: [] });
    const byName = await call('GET', '/v3/volumes?name=pg-b');
    expect((byName.json as { volumes: { name: string }[] }).volumes.map((v) => v.name)).to.deep.equal(['pg-b']);
    const red = await call('GET', `/v3/volumes/detail?metadata=${encodeURIComponent(JSON.stringify({ color: 'red' }))}`);
    expect((red.json as { volumes: Vol[] }).volumes.map((v) => v.name).sort()).to.deep.equal(['pg-a', 'pg-c']);
    const sorted = await call('GET', '/v3/volumes/detail?sort=name:asc&status=available');
    const names = (sorted.json as { volumes: Vol[] }).volumes.map((v) => v.name).filter((n) => n?.startsWith('pg-'));
    expect(names).to.deep.equal(['pg-a', 'pg-b', 'pg-c']);
    const bootable = await call('GET', '/v3/volumes/detail?bootable=true');
    expect((bootable.json as { volumes: Vol[] }).volumes).to.deep.equal([]);
    const summary = await call('GET', '/v3/volumes/summary', { headers: mv('3.36') });
    expect(summary.status, summary.text).to.equal(200);
    const s = (summary.json as { 'volume-summary': { total_count: number; total_size: number; metadata: Record<string, string[]> } })['volume-summary'];
    expect(s.total_count).to.be.at.least(3);
    expect(s.metadata.color!.sort()).to.deep.equal(['blue', 'red']);
    expect((await call('GET', '/v3/volumes/summary')).status).to.equal(404);
    const az = await call('GET', '/v3/os-availability-zone');
    expect(az.json).to.deep.equal({ availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true } }] });
    for (const v of made) await call('DELETE', `/v3/volumes/${v.id}`);
  });

  it('quota classes, services, pools and extensions; create and update answer without the extension attributes', async () => {
    const cls = await call('GET', '/v3/os-quota-class-sets/default');
    expect(cls.status, cls.text).to.equal(200);
    expect((cls.json as { quota_class_set: Record<string, unknown> }).quota_class_set).to.include({ id: 'default', volumes: 10, gigabytes: 1000 });
    const upd = await call('PUT', '/v3/os-quota-class-sets/default', { body: { quota_class_set: { snapshots: 12 } } });
    expect(upd.status, upd.text).to.equal(200);
    expect((upd.json as { quota_class_set: Record<string, unknown> }).quota_class_set).to.include({ snapshots: 12 });
    const defaults = await call('GET', `/v3/os-quota-sets/${adminProject}/defaults`);
    expect((defaults.json as { quota_set: Record<string, unknown> }).quota_set).to.include({ snapshots: 12 });
    await call('PUT', '/v3/os-quota-class-sets/default', { body: { quota_class_set: { snapshots: 10 } } });
    const svc = await call('GET', '/v3/os-services?binary=cinder-volume&host=sandbox');
    expect((svc.json as { services: { binary: string; host: string; state: string }[] }).services).to.deep.equal([
      { binary: 'cinder-volume', host: 'sandbox@sandbox', zone: 'nova', status: 'enabled', state: 'up', updated_at: (svc.json as { services: { updated_at: string }[] }).services[0]!.updated_at, disabled_reason: null, replication_status: 'disabled', active_backend_id: null, frozen: false },
    ]);
    const off = await call('PUT', '/v3/os-services/disable-log-reason', { body: { host: 'sandbox@sandbox', binary: 'cinder-volume', disabled_reason: 'maintenance' } });
    expect(off.status, off.text).to.equal(200);
    expect(off.json).to.deep.equal({ disabled: true, status: 'disabled', host: 'sandbox@sandbox', service: 'cinder-volume', binary: 'cinder-volume', disabled_reason: 'maintenance' });
    const listed = await call('GET', '/v3/os-services?binary=cinder-volume');
    expect((listed.json as { services: Record<string, unknown>[] }).services[0]).to.include({ status: 'disabled', disabled_reason: 'maintenance' });
    expect((await call('PUT', '/v3/os-services/enable', { body: { host: 'sandbox@sandbox', binary: 'cinder-volume' } })).json).to.include({ disabled: false, status: 'enabled' });
    expect((await call('PUT', '/v3/os-services/enable', { body: { host: 'nowhere', binary: 'cinder-volume' } })).status).to.equal(404);
    expect((await call('PUT', '/v3/os-services/disable', { body: { host: 'sandbox', binary: 'cinder-nope' } })).status).to.equal(404);
    expect((await call('PUT', '/v3/os-services/freeze', { body: { host: 'nowhere' } })).status).to.equal(400);
    expect((await call('PUT', '/v3/os-services/freeze', { body: { host: 'sandbox' } })).status).to.equal(200);
    await call('PUT', '/v3/os-services/thaw', { body: { host: 'sandbox' } });
    const caps = await call('GET', '/v3/capabilities/sandbox@sandbox#sandbox');
    expect(caps.status, caps.text).to.equal(200);
    expect(caps.json).to.deep.include({ vendor_name: 'Open Source', volume_backend_name: 'sandbox', storage_protocol: 'local' });
    const pools = await call('GET', '/v3/scheduler-stats/get_pools?detail=True');
    expect(pools.status, pools.text).to.equal(200);
    expect((pools.json as { pools: { name: string; capabilities: { vendor_name: string } }[] }).pools[0]).to.deep.include({ name: 'sandbox@sandbox#sandbox' });
    const ext = await call('GET', '/v3/extensions');
    expect((ext.json as { extensions: { alias: string }[] }).extensions.map((e) => e.alias)).to.include('os-volume-actions');

    const v = await ready({ size: 1 });
    const snap = await call('POST', '/v3/snapshots', { body: { snapshot: { volume_id: v.id } } });
    expect((snap.json as { snapshot: Record<string, unknown> }).snapshot).to.not.have.property('os-extended-snapshot-attributes:progress');
    const noVolume = await call('POST', '/v3/snapshots', { body: { snapshot: { volume_id: null } } });
    expect(noVolume.status).to.equal(404);
    const badSort = await call('GET', '/v3/snapshots?sort=nope:asc');
    expect(badSort.status).to.equal(400);
    const t = await call('POST', '/v3/types', { body: { volume_type: { name: 'bronze' } } });
    const tid = (t.json as { volume_type: { id: string } }).volume_type.id;
    const tu = await call('PUT', `/v3/types/${tid}`, { body: { volume_type: { description: 'slow' } } });
    expect((tu.json as { volume_type: Record<string, unknown> }).volume_type).to.not.have.property('os-volume-type-access:is_public');
    await sleep(DELAY + 20);
    await call('DELETE', `/v3/snapshots/${(snap.json as { snapshot: { id: string } }).snapshot.id}`);
    await sleep(DELAY + 20);
    expect((await call('DELETE', `/v3/volumes/${v.id}`)).status).to.equal(202);
  });

  it('a volume from a Glance image is bootable with the image\'s metadata; the side Nova uses attaches, detaches and deletes', async () => {
    const img = await h.request('POST', '/image/v2/images', { body: { name: 'tiny-img', disk_format: 'qcow2', container_format: 'bare' } });
    expect(img.status, img.text).to.equal(201);
    const imageId = (img.json as { id: string }).id;
    const up = await fetch(`${h.url}/image/v2/images/${imageId}/file`, { method: 'PUT', headers: { 'x-auth-token': h.adminToken, 'content-type': 'application/octet-stream' }, body: new Uint8Array(2048) });
    expect(up.status).to.equal(204);
    const v = await create({ size: 1, imageRef: imageId, name: 'boot' });
    expect(v.bootable).to.equal('true');
    const done = await waitFor(v.id, 'available');
    expect(done.volume_image_metadata).to.include({ image_id: imageId, image_name: 'tiny-img', disk_format: 'qcow2', container_format: 'bare', size: '2048' });
    const missing = await call('POST', '/v3/volumes', { body: { volume: { size: 1, imageRef: '6a1d2b3c-0000-4000-8000-000000000000' } } });
    expect(missing.status).to.equal(404);

    // os-volume_upload_image makes a Glance image; the volume is uploading, then available again
    const uploadStarted = Date.now();
    const upload = await action(v.id, { 'os-volume_upload_image': { image_name: 'from-volume', disk_format: 'raw' } });
    expect(upload.status, upload.text).to.equal(202);
    const u = (upload.json as { 'os-volume_upload_image': { image_id: string; status: string; image_name: string } })['os-volume_upload_image'];
    expect(u).to.include({ status: 'uploading', image_name: 'from-volume' });
    const made0 = await h.request('GET', `/image/v2/images/${u.image_id}`);
    expect(made0.status, made0.text).to.equal(200);
    expect(made0.json).to.include({ disk_format: 'raw', container_format: 'bare', status: 'active' });
    // uploading for DELAY ms; a loaded machine may take longer than that to ask.
    const during = (await show(v.id)).status;
    if (Date.now() - uploadStarted < DELAY) expect(during).to.equal('uploading');
    else expect(during).to.be.oneOf(['uploading', 'available']);
    await waitFor(v.id, 'available');

    const side: VolumeSide = (h.gateway.drivers.volume as SandboxVolume).cloud.volume;
    const server = '5e0c7a1d-7777-4b6c-8d9e-abcdefabcdef';
    const made = side.createFromImage(adminProject, imageId, 2, 'srv-boot', h.gateway.identity.userByName('default', 'admin')!.id);
    expect(made).to.include({ status: 'available', bootable: true, size: 2 });
    side.attach(adminProject, made.id, server, '/dev/vda');
    const attached = await show(made.id);
    expect(attached.status).to.equal('in-use');
    expect(attached.attachments[0]).to.include({ server_id: server, device: '/dev/vda' });
    expect(() => side.attach(adminProject, made.id, server, '/dev/vdb')).to.throw(/status must be available|already attached/);
    expect(side.volume('some-other-project', made.id)).to.equal(undefined);
    expect(() => side.delete(adminProject, made.id)).to.throw(/must not be migrating, attached/);
    side.detach(adminProject, made.id, server);
    expect((await show(made.id)).status).to.equal('available');
    side.delete(adminProject, made.id);
    expect((await show(made.id)).status).to.equal('deleting');
    await call('DELETE', `/v3/volumes/${v.id}`);
  });

  it('admin actions: reset status, set bootable, read-only flag, retype, force delete', async () => {
    const v = await ready({ size: 1 });
    expect((await action(v.id, { 'os-set_bootable': { bootable: true } })).status).to.equal(200);
    expect((await show(v.id)).bootable).to.equal('true');
    expect((await action(v.id, { 'os-update_readonly_flag': { readonly: true } })).status).to.equal(202);
    expect((await show(v.id)).metadata).to.include({ readonly: 'True' });
    await call('POST', '/v3/types', { body: { volume_type: { name: 'silver' } } });
    expect((await action(v.id, { 'os-retype': { new_type: 'silver' } })).status).to.equal(202);
    expect((await show(v.id)).volume_type).to.equal('silver');
    expect((await action(v.id, { 'os-reset_status': { status: 'error' } })).status).to.equal(202);
    expect((await show(v.id)).status).to.equal('error');
    expect((await action(v.id, { 'os-force_delete': null })).status).to.equal(202);
    await sleep(DELAY + 20);
    expect((await call('GET', `/v3/volumes/${v.id}`)).status).to.equal(404);
  });
  it('image metadata actions: set merges and answers the whole set (200), show, unset (200; 404 for a missing key)', async () => {
    const v = await ready({ size: 1 });
    const set = await action(v.id, { 'os-set_image_metadata': { metadata: { image_name: 'cirros', kernel_id: 'k1' } } });
    expect(set.status, set.text).to.equal(200);
    expect(set.json).to.deep.equal({ metadata: { image_name: 'cirros', kernel_id: 'k1' } });
    const more = await action(v.id, { 'os-set_image_metadata': { metadata: { ramdisk_id: 'r1' } } });
    expect(more.json).to.deep.equal({ metadata: { image_name: 'cirros', kernel_id: 'k1', ramdisk_id: 'r1' } });
    expect((await show(v.id)).volume_image_metadata).to.deep.equal({ image_name: 'cirros', kernel_id: 'k1', ramdisk_id: 'r1' });
    const unset = await action(v.id, { 'os-unset_image_metadata': { key: 'ramdisk_id' } });
    expect(unset.status, unset.text).to.equal(200);
    const shown = await action(v.id, { 'os-show_image_metadata': null });
    expect(shown.status, shown.text).to.equal(200);
    expect(shown.json).to.deep.equal({ metadata: { image_name: 'cirros', kernel_id: 'k1' } });
    const missing = await action(v.id, { 'os-unset_image_metadata': { key: 'ramdisk_id' } });
    expect(missing.status).to.equal(404);
    expect(missing.json).to.have.nested.property('itemNotFound.code', 404);
  });
});
