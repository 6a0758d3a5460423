/**
 * Cinder over SoftLayer block storage (SoftLayer_Network_Storage, iSCSI LUNs
 * of Account::getIscsiNetworkStorage): list, show, volume types (SoftLayer's
 * block storage kinds), availability zones (datacenters), limits. A host
 * authorized on a LUN (allowedVirtualGuests) shows as an attachment.
 *
 * Ordering, cancelling and authorizing storage go through SoftLayer orders
 * and billing items; they are not served here (501), never pretended.
 */
import type { VolumeDriver, VolumeRequest, VolumeResponse } from '../../generated/index.js';
import type { RequestContext } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { cinderVolumeListing } from '../../src/paging.js';
import { SoftLayerCloud, isoZ, slId, slUuid } from './cloud.js';
import { volumeVersionFields } from '../../src/cinder-views.js';

type Ctx = RequestContext;
type Json = Record<string, unknown>;

function out<T>(body: unknown): T {
  return body as T;
}

export interface SlStorage {
  id: number; username: string; capacityGb: number; notes?: string | null; createDate?: string;
  storageType?: { keyName: string; description?: string };
  serviceResource?: { datacenter?: { name: string } };
  allowedVirtualGuests?: { id: number; hostname: string; domain: string }[];
  activeTransactionCount?: number;
}

export const STORAGE_MASK = 'mask[id,username,capacityGb,notes,createDate,storageType[keyName,description],serviceResource[datacenter[name]],allowedVirtualGuests[id,hostname,domain],activeTransactionCount]';

/** SoftLayer's block storage kinds, as Cinder volume types. */
const VOLUME_TYPES = [
  { keyName: 'ENDURANCE_BLOCK_STORAGE', name: 'endurance', description: 'SoftLayer Endurance block storage (IOPS per GB tiers)' },
  { keyName: 'PERFORMANCE_BLOCK_STORAGE', name: 'performance', description: 'SoftLayer Performance block storage (allocated IOPS)' },
] as const;

function typeId(keyName: string): string {
  return `51000006-0000-4000-8000-${Buffer.from(keyName.slice(0, 6)).toString('hex').padStart(12, '0')}`;
}

/** The account's iSCSI volumes (optionally only those a guest may reach), oldest first. */
export function listStorage(cloud: SoftLayerCloud, ctx: Ctx, guestId?: number): Promise<SlStorage[]> {
  return cloud.listAll<SlStorage>(ctx, 'SoftLayer_Account', 'getIscsiNetworkStorage', {
    mask: STORAGE_MASK,
    filter: { iscsiNetworkStorage: { id: { operation: 'orderBy', options: [{ name: 'sort', value: ['ASC'] }] }, ...(guestId !== undefined ? { allowedVirtualGuests: { id: { operation: guestId } } } : {}) } },
  });
}

/** One volume by its OpenStack id; 404 when SoftLayer has none. */
export async function getStorage(cloud: SoftLayerCloud, ctx: Ctx, volumeId: string): Promise<SlStorage> {
  const n = slId('volume', volumeId, 'Volume');
  try {
    return await cloud.call<SlStorage>(ctx, 'SoftLayer_Network_Storage_Iscsi', 'getObject', { id: n, mask: STORAGE_MASK });
  } catch (err) {
    if ((err as Fault).status === 404) throw Fault.notFound(`Volume ${volumeId} could not be found.`);
    throw err;
  }
}

export class SoftLayerVolume implements VolumeDriver {
  constructor(private readonly cloud: SoftLayerCloud) {}

  private links(ctx: Ctx, id: string) {
    const project = ctx.auth?.projectId ?? '';
    return [
      { rel: 'self', href: `${ctx.endpoint}/v3/${project}/volumes/${id}` },
      { rel: 'bookmark', href: `${ctx.endpoint}/${project}/volumes/${id}` },
    ];
  }

  private view(ctx: Ctx, s: SlStorage, detail: boolean): Json {
    const id = slUuid('volume', s.id);
    const v: Json = { id, name: s.username, links: this.links(ctx, id) };
    if (!detail) return v;
    const created = isoZ(s.createDate) ?? '1970-01-01T00:00:00Z';
    const hosts = s.allowedVirtualGuests ?? [];
    const type = VOLUME_TYPES.find((t) => t.keyName === s.storageType?.keyName);
    Object.assign(v, {
      status: s.activeTransactionCount ? 'creating' : hosts.length ? 'in-use' : 'available',
      size: s.capacityGb,
      availability_zone: s.serviceResource?.datacenter?.name ?? '',
      created_at: created.replace(/Z$/, '.000000'),
      updated_at: null,
      // SoftLayer does not say when a host was authorized: no attached_at.
      attachments: hosts.map((g) => ({
        id, attachment_id: `${slUuid('guest', g.id).slice(0, 24)}${s.id.toString(16).padStart(12, '0')}`, volume_id: id,
        server_id: slUuid('guest', g.id), host_name: null, device: null,
      })),
      description: s.notes ?? null,
      volume_type: type?.name ?? s.storageType?.keyName?.toLowerCase() ?? null,
      snapshot_id: null,
      source_volid: null,
      metadata: {},
      user_id: ctx.auth?.userId ?? '',
      bootable: 'false',
      encrypted: false,
      replication_status: 'disabled',
      consistencygroup_id: null,
      multiattach: true,
      'os-vol-tenant-attr:tenant_id': ctx.auth?.projectId ?? '',
    });
    Object.assign(v, volumeVersionFields(ctx.microversion, type ? typeId(type.keyName) : null));
    return v;
  }

  private volumes(ctx: Ctx): Promise<SlStorage[]> {
    return listStorage(this.cloud, ctx);
  }

  private async listing(ctx: Ctx, q: Json, detail: boolean) {
    return cinderVolumeListing((await this.volumes(ctx)).map((s) => this.view(ctx, s, true)), q, ctx.url, detail, ['name', 'status', 'availability_zone', 'volume_type']);
  }

  async listVolumes(req: VolumeRequest<'listVolumes'>): Promise<VolumeResponse<'listVolumes'>> {
    return out(await this.listing(req.context, req.query as Json, false));
  }

  async listVolumesDetail(req: VolumeRequest<'listVolumesDetail'>): Promise<VolumeResponse<'listVolumesDetail'>> {
    return out(await this.listing(req.context, req.query as Json, true));
  }

  async showVolume(req: VolumeRequest<'showVolume'>): Promise<VolumeResponse<'showVolume'>> {
    return out({ volume: this.view(req.context, await getStorage(this.cloud, req.context, req.path.id), true) });
  }

  /** SoftLayer names a volume itself (its username); the description is its notes. */
  async updateVolume(req: VolumeRequest<'updateVolume'>): Promise<VolumeResponse<'updateVolume'>> {
    const ctx = req.context;
    const b = ((req.body as unknown as { volume?: Record<string, unknown> }).volume ?? {});
    const v = await getStorage(this.cloud, ctx, req.path.id);
    if (b.name !== undefined && b.name !== v.username) throw Fault.badRequest(`SoftLayer names its volumes: ${v.username} cannot be renamed.`);
    if (b.metadata !== undefined && Object.keys(b.metadata as object).length) throw Fault.badRequest('SoftLayer volumes have no metadata.');
    const desc = b.description ?? b.display_description;
    if (desc !== undefined) await this.cloud.call(ctx, 'SoftLayer_Network_Storage', 'editObject', { id: v.id, params: [{ notes: desc === null ? '' : String(desc) }] });
    return out({ volume: this.view(ctx, await getStorage(this.cloud, ctx, req.path.id), true) });
  }

  // ---- types, zones, limits --------------------------------------------------------

  private typeView(t: (typeof VOLUME_TYPES)[number]): Json {
    return {
      id: typeId(t.keyName), name: t.name, description: t.description, is_public: true,
      extra_specs: { softlayer_storage_type: t.keyName }, 'os-volume-type-access:is_public': true, qos_specs_id: null,
    };
  }

  async listTypes(req: VolumeRequest<'listTypes'>): Promise<VolumeResponse<'listTypes'>> {
    this.cloud.cred(req.context);
    return out({ volume_types: VOLUME_TYPES.map((t) => this.typeView(t)) });
  }

  async showType(req: VolumeRequest<'showType'>): Promise<VolumeResponse<'showType'>> {
    this.cloud.cred(req.context);
    const t = VOLUME_TYPES.find((x) => typeId(x.keyName) === req.path.id || x.name === req.path.id);
    if (!t) throw Fault.notFound(`Volume type ${req.path.id} could not be found.`);
    return out({ volume_type: this.typeView(t) });
  }

  async listAvailabilityZone(req: VolumeRequest<'listAvailabilityZone'>): Promise<VolumeResponse<'listAvailabilityZone'>> {
    const dcs = await this.cloud.datacenters(req.context);
    return out({ availabilityZoneInfo: dcs.map((d) => ({ zoneName: d.name, zoneState: { available: true } })) });
  }

  /** SoftLayer sets no volume quotas here: -1, with what the account uses. */
  async listLimits(req: VolumeRequest<'listLimits'>): Promise<VolumeResponse<'listLimits'>> {
    const vols = await this.volumes(req.context);
    return out({
      limits: {
        rate: [],
        absolute: {
          maxTotalVolumes: -1, maxTotalSnapshots: -1, maxTotalVolumeGigabytes: -1, maxTotalBackups: -1, maxTotalBackupGigabytes: -1,
          totalVolumesUsed: vols.length, totalGigabytesUsed: vols.reduce((n, v) => n + v.capacityGb, 0),
          totalSnapshotsUsed: 0, totalBackupsUsed: 0, totalBackupGigabytesUsed: 0,
        },
      },
    });
  }
}
