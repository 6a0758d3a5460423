/**
 * Cinder over CloudStack data volumes and disk offerings: list, show, create
 * (createVolume with a disk offering, custom size when the offering allows,
 * or from a snapshot), delete, snapshots (createSnapshot / deleteSnapshot),
 * volume types (disk offerings), availability zones (zones), limits. Attach
 * and detach go through Nova (os-volume_attachments): attachVolume and
 * detachVolume are async jobs, and the volume shows `attaching` / `detaching`
 * while they run. ROOT volumes are the servers' own disks and are not listed.
 */
import type { VolumeDriver, VolumeRequest, VolumeResponse } from '../../generated/index.js';
import { Reply, type RequestContext } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { atLeast } from '../../src/microversion.js';
import { cinderVolumeListing } from '../../src/paging.js';
import type { CsJob } from './client.js';
import { CloudStackCloud, isUuid, isoZ, jobCommand } from './cloud.js';
import { volumeVersionFields } from '../../src/cinder-views.js';

type Ctx = RequestContext;
type Json = Record<string, unknown>;

function out<T>(body: unknown): T {
  return body as T;
}

export interface CsVolume {
  id: string; name: string; type: string; size: number; state: string; zoneid?: string; zonename?: string;
  virtualmachineid?: string; vmname?: string; deviceid?: number; diskofferingid?: string; diskofferingname?: string;
  snapshotid?: string; created?: string; attached?: string; account?: string; jobid?: string; jobstatus?: number;
}

interface CsDiskOffering { id: string; name: string; displaytext?: string; disksize: number; iscustomized?: boolean }
interface CsSnapshot { id: string; name: string; volumeid: string; state: string; virtualsize?: number; created?: string }

/** CloudStack device ids → the Linux device names Nova would report (0 is the root disk, 3 the CD-ROM). */
function deviceName(deviceid: number | undefined): string | null {
  if (deviceid === undefined) return null;
  return `/dev/vd${String.fromCharCode(97 + deviceid)}`;
}

/** A Nova volume attachment of a CloudStack volume. */
export function attachmentOf(v: CsVolume, serverId: string): Json {
  return { id: v.id, volumeId: v.id, serverId, device: deviceName(v.deviceid) };
}

/** The job in flight → Cinder's transitional status. */
const JOB_STATUS: Record<string, string> = { AttachVolumeCmd: 'attaching', DetachVolumeCmd: 'detaching', CreateVolumeCmd: 'creating', ResizeVolumeCmd: 'extending' };

export function volumeStatus(v: CsVolume, job: CsJob | undefined): string {
  const byJob = job ? JOB_STATUS[jobCommand(job)] : undefined;
  if (byJob) return byJob;
  if (v.state === 'Creating' || v.state === 'Allocating') return 'creating';
  if (v.state === 'Destroy' || v.state === 'Expunging') return 'deleting';
  if (v.state === 'UploadError' || v.state === 'Error') return 'error';
  return v.virtualmachineid ? 'in-use' : 'available';
}

const GB = 1024 ** 3;

export class CloudStackVolume implements VolumeDriver {
  constructor(private readonly cloud: CloudStackCloud) {}

  private links(ctx: Ctx, collection: string, id: string) {
    const project = ctx.auth?.projectId ?? '';
    return [
      { rel: 'self', href: `${ctx.endpoint}/v3/${project}/${collection}/${id}` },
      { rel: 'bookmark', href: `${ctx.endpoint}/${project}/${collection}/${id}` },
    ];
  }

  private async volumes(ctx: Ctx, id?: string): Promise<CsVolume[]> {
    if (id !== undefined && !isUuid(id)) return [];
    const list = await this.cloud.list<CsVolume>(ctx, 'listVolumes', 'volume', { type: 'DATADISK', ...(id ? { id } : {}) })
      .catch((err: Fault) => { if (id && err.status === 400) return []; throw err; });
    return list.filter((v) => v.type !== 'ROOT'); // CloudStack's order: creation (internal ids)
  }

  private async volume(ctx: Ctx, id: string): Promise<{ v: CsVolume; job?: CsJob }> {
    const [v] = await this.volumes(ctx, id);
    if (!v) throw Fault.notFound(`Volume ${id} could not be found.`);
    const job = await this.cloud.pendingJob(ctx, v);
    if (v.jobid && !job) {
      const [again] = await this.volumes(ctx, id);
      if (!again) throw Fault.notFound(`Volume ${id} could not be found.`);
      return { v: again };
    }
    return { v, ...(job ? { job } : {}) };
  }

  private view(ctx: Ctx, v: CsVolume, job: CsJob | undefined, detail: boolean): Json {
    const view: Json = { id: v.id, name: v.name, links: this.links(ctx, 'volumes', v.id) };
    if (!detail) return view;
    const created = (isoZ(v.created) ?? '1970-01-01T00:00:00Z').replace(/Z$/, '.000000');
    Object.assign(view, {
      status: volumeStatus(v, job),
      size: Math.round(v.size / GB),
      availability_zone: v.zonename ?? '',
      created_at: created,
      updated_at: null,
      attachments: v.virtualmachineid ? [{
        id: v.id, attachment_id: v.id, volume_id: v.id, server_id: v.virtualmachineid, host_name: null, device: deviceName(v.deviceid),
        attached_at: v.attached ? (isoZ(v.attached) ?? created).replace(/Z$/, '.000000') : null,
      }] : [],
      description: null,
      // Cinder names its type-less volumes' type __DEFAULT__; a CloudStack volume without a disk offering is one.
      volume_type: v.diskofferingname ?? '__DEFAULT__',
      snapshot_id: v.snapshotid ?? null,
      source_volid: null,
      metadata: {},
      user_id: ctx.auth?.userId ?? '',
      bootable: 'false',
      encrypted: false,
      replication_status: 'disabled',
      consistencygroup_id: null,
      multiattach: false,
      'os-vol-tenant-attr:tenant_id': ctx.auth?.projectId ?? '',
    });
    Object.assign(view, volumeVersionFields(ctx.microversion, v.diskofferingid ?? null));
    return view;
  }

  private async listing(ctx: Ctx, q: Json, detail: boolean) {
    const vols = await this.volumes(ctx);
    const jobs = await Promise.all(vols.map((v) => this.cloud.pendingJob(ctx, v)));
    return cinderVolumeListing(vols.map((v, i) => this.view(ctx, v, jobs[i], true)), q, ctx.url, detail, ['name', 'status', 'availability_zone']);
  }

  async listVolumes(req: VolumeRequest<'listVolumes'>): Promise<VolumeResponse<'listVolumes'>> {
    return out(await this.listing(req.context, req.query as Json, false));
  }

  async listVolumesDetail(req: VolumeRequest<'listVolumesDetail'>): Promise<VolumeResponse<'listVolumesDetail'>> {
    return out(await this.listing(req.context, req.query as Json, true));
  }

  async showVolume(req: VolumeRequest<'showVolume'>): Promise<VolumeResponse<'showVolume'>> {
    const { v, job } = await this.volume(req.context, req.path.id);
    return out({ volume: this.view(req.context, v, job, true) });
  }

  private diskOfferings(ctx: Ctx): Promise<CsDiskOffering[]> {
    return this.cloud.list<CsDiskOffering>(ctx, 'listDiskOfferings', 'diskoffering', {});
  }

  /**
   * createVolume: the volume type names a disk offering; without one, the
   * custom-size offering takes the requested size, or the fixed-size offering
   * of exactly that size.
   */
  async createVolume(req: VolumeRequest<'createVolume'>): Promise<VolumeResponse<'createVolume'> | Reply<VolumeResponse<'createVolume'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { volume: Json }).volume;
    if (b.source_volid || b.imageRef || b.backup_id) throw Fault.badRequest('The CloudStack backend creates volumes empty or from a snapshot only.');
    const size = b.size === undefined || b.size === null ? undefined : Number(b.size);
    const zone = await this.cloud.zone(ctx, typeof b.availability_zone === 'string' ? b.availability_zone : undefined);
    const params: Record<string, string | number> = { zoneid: zone.id };
    if (typeof b.name === 'string' && b.name) params.name = b.name;
    if (typeof b.snapshot_id === 'string') {
      params.snapshotid = b.snapshot_id;
    } else {
      if (!size || size < 1) throw Fault.badRequest('Invalid input received: size must be a positive integer.');
      const offerings = await this.diskOfferings(ctx);
      let off: CsDiskOffering | undefined;
      if (typeof b.volume_type === 'string' && b.volume_type) {
        off = offerings.find((o) => o.id === b.volume_type || o.name === b.volume_type);
        if (!off) throw Fault.notFound(`Volume type ${b.volume_type} could not be found.`);
        if (!off.iscustomized && off.disksize !== size) throw Fault.badRequest(`Volume type ${off.name} has a fixed size of ${off.disksize} GB.`);
      } else {
        off = offerings.find((o) => o.iscustomized) ?? offerings.find((o) => o.disksize === size);
        if (!off) throw Fault.badRequest(`No CloudStack disk offering gives a ${size} GB volume.`);
      }
      params.diskofferingid = off.id;
      if (off.iscustomized) params.size = size;
    }
    const { id } = await this.cloud.start(ctx, 'createVolume', params);
    if (!id) throw new Fault('backendError', 'CloudStack createVolume answered no volume id.');
    const { v, job } = await this.volume(ctx, id);
    return new Reply(out<VolumeResponse<'createVolume'>>({ volume: this.view(ctx, v, job, true) }), 202);
  }

  async deleteVolume(req: VolumeRequest<'deleteVolume'>): Promise<VolumeResponse<'deleteVolume'> | Reply<VolumeResponse<'deleteVolume'>>> {
    const { v, job } = await this.volume(req.context, req.path.id);
    const status = volumeStatus(v, job);
    if (!['available', 'error'].includes(status)) {
      throw Fault.badRequest(`Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer. (status ${status})`);
    }
    await this.cloud.call(req.context, 'deleteVolume', { id: v.id });
    return new Reply(undefined, 202);
  }

  /** os-extend = resizeVolume (a job: `extending` until done); grows only, as Cinder does. */
  async extendVolume(req: VolumeRequest<'extendVolume'>): Promise<VolumeResponse<'extendVolume'> | Reply<VolumeResponse<'extendVolume'>>> {
    const ctx = req.context;
    const size = Number((req.body as unknown as { 'os-extend': { new_size: number | string } })['os-extend'].new_size);
    const { v, job } = await this.volume(ctx, req.path.id);
    const status = volumeStatus(v, job);
    const allowed = atLeast(ctx.microversion, '3.42') ? ['available', 'in-use'] : ['available'];
    if (!allowed.includes(status)) throw Fault.badRequest(`Invalid volume: Volume status must be ${allowed.join(' or ')} to extend, but current status is: ${status}.`);
    if (!Number.isInteger(size) || size <= Math.round(v.size / GB)) throw Fault.badRequest(`Invalid input received: New size for extend must be greater than current size. (current: ${Math.round(v.size / GB)}, extended: ${String(size)}).`);
    // A volume of a fixed-size offering changes offering: the custom-size one, or one of exactly the new size.
    const offerings = await this.diskOfferings(ctx);
    const current = offerings.find((o) => o.id === v.diskofferingid);
    const params: Record<string, string | number> = { id: v.id };
    if (current && !current.iscustomized) {
      const next = offerings.find((o) => o.iscustomized) ?? offerings.find((o) => o.disksize === size);
      if (!next) throw Fault.badRequest(`No CloudStack disk offering gives a ${size} GB volume.`);
      params.diskofferingid = next.id;
      if (next.iscustomized) params.size = size;
    } else {
      params.size = size;
    }
    await this.cloud.start(ctx, 'resizeVolume', params);
    return new Reply(undefined, 202);
  }

  // ---- snapshots ---------------------------------------------------------------------

  private snapshotView(ctx: Ctx, s: CsSnapshot, detail: boolean): Json {
    const v: Json = {
      id: s.id, name: s.name, description: null, volume_id: s.volumeid, size: Math.round(Number(s.virtualsize ?? 0) / GB),
      status: s.state === 'BackedUp' ? 'available' : s.state === 'Error' ? 'error' : 'creating',
      created_at: (isoZ(s.created) ?? '1970-01-01T00:00:00Z').replace(/Z$/, '.000000'), updated_at: null, metadata: {},
    };
    if (detail) {
      v['os-extended-snapshot-attributes:progress'] = v.status === 'available' ? '100%' : '0%';
      v['os-extended-snapshot-attributes:project_id'] = ctx.auth?.projectId ?? '';
    }
    if (atLeast(ctx.microversion, '3.14')) v.group_snapshot_id = null;
    if (atLeast(ctx.microversion, '3.41')) v.user_id = ctx.auth?.userId ?? '';
    if (atLeast(ctx.microversion, '3.65')) v.consumes_quota = true;
    return v;
  }

  private async snapshots(ctx: Ctx, id?: string): Promise<CsSnapshot[]> {
    if (id !== undefined && !isUuid(id)) return [];
    return this.cloud.list<CsSnapshot>(ctx, 'listSnapshots', 'snapshot', id ? { id } : {}).catch((err: Fault) => { if (id && err.status === 400) return []; throw err; });
  }

  async listSnapshots(req: VolumeRequest<'listSnapshots'>): Promise<VolumeResponse<'listSnapshots'>> {
    return out({ snapshots: (await this.snapshots(req.context)).map((s) => this.snapshotView(req.context, s, false)) });
  }

  async listSnapshotsDetail(req: VolumeRequest<'listSnapshotsDetail'>): Promise<VolumeResponse<'listSnapshotsDetail'>> {
    return out({ snapshots: (await this.snapshots(req.context)).map((s) => this.snapshotView(req.context, s, true)) });
  }

  async showSnapshot(req: VolumeRequest<'showSnapshot'>): Promise<VolumeResponse<'showSnapshot'>> {
    const [s] = await this.snapshots(req.context, req.path.id);
    if (!s) throw Fault.notFound(`Snapshot ${req.path.id} could not be found.`);
    return out({ snapshot: this.snapshotView(req.context, s, true) });
  }

  async createSnapshot(req: VolumeRequest<'createSnapshot'>): Promise<VolumeResponse<'createSnapshot'> | Reply<VolumeResponse<'createSnapshot'>>> {
    const ctx = req.context;
    const b = (req.body as unknown as { snapshot: { volume_id: string; name?: string | null; force?: unknown } }).snapshot;
    const { v } = await this.volume(ctx, b.volume_id).catch((err: Fault) => { throw err.status === 404 ? Fault.notFound(`Volume ${b.volume_id} could not be found.`) : err; });
    const { id } = await this.cloud.start(ctx, 'createSnapshot', { volumeid: v.id, ...(b.name ? { name: b.name } : {}) });
    const [s] = id ? await this.snapshots(ctx, id) : [];
    if (!s) throw new Fault('backendError', 'CloudStack createSnapshot answered no snapshot.');
    return new Reply(out<VolumeResponse<'createSnapshot'>>({ snapshot: this.snapshotView(ctx, s, false) }), 202);
  }

  async deleteSnapshot(req: VolumeRequest<'deleteSnapshot'>): Promise<VolumeResponse<'deleteSnapshot'> | Reply<VolumeResponse<'deleteSnapshot'>>> {
    const [s] = await this.snapshots(req.context, req.path.id);
    if (!s) throw Fault.notFound(`Snapshot ${req.path.id} could not be found.`);
    await this.cloud.start(req.context, 'deleteSnapshot', { id: s.id });
    return new Reply(undefined, 202);
  }

  // ---- types (disk offerings), zones, limits -----------------------------------------

  private typeView(o: CsDiskOffering): Json {
    return {
      id: o.id, name: o.name, description: o.displaytext ?? null, is_public: true,
      extra_specs: o.iscustomized ? { cloudstack_custom_size: 'true' } : { cloudstack_disk_size_gb: String(o.disksize) },
      'os-volume-type-access:is_public': true, qos_specs_id: null,
    };
  }

  async listTypes(req: VolumeRequest<'listTypes'>): Promise<VolumeResponse<'listTypes'>> {
    return out({ volume_types: (await this.diskOfferings(req.context)).map((o) => this.typeView(o)) });
  }

  async showType(req: VolumeRequest<'showType'>): Promise<VolumeResponse<'showType'>> {
    const o = (await this.diskOfferings(req.context)).find((x) => x.id === req.path.id || x.name === req.path.id);
    if (!o) throw Fault.notFound(`Volume type ${req.path.id} could not be found.`);
    return out({ volume_type: this.typeView(o) });
  }

  async listAvailabilityZone(req: VolumeRequest<'listAvailabilityZone'>): Promise<VolumeResponse<'listAvailabilityZone'>> {
    const zones = await this.cloud.zones(req.context);
    return out({ availabilityZoneInfo: zones.map((z) => ({ zoneName: z.name, zoneState: { available: true } })) });
  }

  /** listResourceLimits: 2 volumes, 3 snapshots, 10 primary storage (GB). */
  async listLimits(req: VolumeRequest<'listLimits'>): Promise<VolumeResponse<'listLimits'>> {
    const ctx = req.context;
    // Used amounts are counted here (data volumes only): CloudStack's volumetotal also counts root disks, which Cinder does not show.
    const [limits, vols, snaps] = await Promise.all([
      this.cloud.list<{ resourcetype: string; max: number }>(ctx, 'listResourceLimits', 'resourcelimit', {}),
      this.volumes(ctx), this.snapshots(ctx),
    ]);
    const max = (type: string) => Number(limits.find((l) => String(l.resourcetype) === type)?.max ?? -1);
    return out({
      limits: {
        rate: [],
        absolute: {
          maxTotalVolumes: max('2'), maxTotalSnapshots: max('3'), maxTotalVolumeGigabytes: max('10'), maxTotalBackups: 0, maxTotalBackupGigabytes: 0,
          totalVolumesUsed: vols.length, totalGigabytesUsed: vols.reduce((n, v) => n + Math.round(v.size / GB), 0),
          totalSnapshotsUsed: snaps.length, totalBackupsUsed: 0, totalBackupGigabytesUsed: 0,
        },
      },
    });
  }
}
