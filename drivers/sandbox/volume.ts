/**
 * The sandbox's block-storage service (Cinder v3): volumes, their metadata and
 * actions, the v3 attachments API, snapshots and their metadata, volume types
 * (extra specs, access, encryption, QoS specs), transfers, quotas and quota
 * classes, limits, availability zones, the volume summary, and the admin views
 * of one scheduler and one backend (services, hosts, pools, capabilities).
 * Generic volume groups and group types are listed (always empty) but cannot
 * be created. Not served: backups, consistency groups, messages, manage/unmanage,
 * migration, default-types, v3.55 volume-transfers.
 *
 * Statuses move as Cinder's do, computed when read rather than by timers: a
 * record carries `ready_at` and `next_status`, and whoever reads it after
 * `ready_at` sees the next status (creating → available, extending → back,
 * deleting → gone). That survives restarts and needs no background work.
 * Every mutating call runs in one store transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RequestContext } from '../../generated/common.js';
import type { VolumeDriver, VolumeMethodName, VolumeRequest, VolumeResponse } from '../../generated/index.js';
import { Reply } from '../../generated/common.js';
import { Fault } from '../../src/faults.js';
import { atLeast } from '../../src/microversion.js';
import { nextLink, paginate, parseLimit } from '../../src/paging.js';
import type { ImageRecord, SandboxCloud, VolumeRecord, VolumeSide } from './cloud.js';
import { isoNoZone, type Resource } from './store.js';
import { volumeVersionFields } from '../../src/cinder-views.js';

// ---- records -----------------------------------------------------------------

const VOLUME = 'volume';
const SNAPSHOT = 'volume_snapshot';
const VTYPE = 'volume_type';
const ATTACHMENT = 'volume_attachment';
const QUOTA = 'volume_quota';
const SERVICE = 'volume_service';
const TRANSFER = 'volume_transfer';
const QOS = 'volume_qos';
const BACKUP = 'volume_backup';

/** The sandbox's Cinder services. */
const SERVICES = [
  { host: 'sandbox', binary: 'cinder-scheduler' },
  { host: 'sandbox@sandbox', binary: 'cinder-volume' },
] as const;

export const DEFAULT_TYPE = '__DEFAULT__';
const AZ = 'nova';
const HOST = 'sandbox@sandbox#sandbox';

/** Pending status change: at `ready_at` (ms) the status becomes `next_status` ('gone': the record disappears). */
interface Timed {
  status: string;
  ready_at: number | null;
  next_status: string | null;
}

/** One attachment as the volume shows it (attached ones only; Nova reads these). */
interface VolumeAttachmentView {
  id: string;
  server_id: string;
  device: string | null;
  attached_at: string;
  host_name: string | null;
}

interface VolumeDoc extends VolumeRecord, Timed {
  name: string | null;
  description: string | null;
  user_id: string;
  volume_type_id: string;
  availability_zone: string;
  metadata: Record<string, string>;
  /** Admin metadata Cinder shows among the metadata (readonly, attached_mode). */
  admin_metadata: Record<string, string>;
  snapshot_id: string | null;
  source_volid: string | null;
  image_id: string | null;
  image_metadata: Record<string, string> | null;
  multiattach: boolean;
  attach_status: 'attached' | 'detached' | 'attaching' | 'detaching' | 'reserved';
  migration_status: string | null;
  previous_status: string | null;
  attachments: VolumeAttachmentView[];
}

interface SnapshotDoc extends Resource, Timed {
  name: string | null;
  description: string | null;
  volume_id: string;
  size: number;
  user_id: string;
  metadata: Record<string, string>;
  /** Set by os-update_snapshot_status; '' follows the status. */
  progress: string;
}

interface TypeDoc extends Resource {
  name: string;
  description: string | null;
  is_public: boolean;
  extra_specs: Record<string, string>;
  /** Projects a private type is shared with. */
  access: string[];
  /** The QoS specs associated with the type. */
  qos_specs_id?: string | null;
  /** The type's encryption spec, when volumes of it are encrypted. */
  encryption?: EncryptionSpec | null;
}

interface EncryptionSpec {
  encryption_id: string;
  provider: string;
  cipher: string | null;
  key_size: number | null;
  control_location: 'front-end' | 'back-end';
  created_at: string;
  updated_at: string | null;
}

interface AttachmentDoc extends Resource {
  volume_id: string;
  instance_uuid: string | null;
  attach_status: 'reserved' | 'attaching' | 'attached' | 'detached';
  attach_mode: 'null' | 'rw' | 'ro';
  connector: Record<string, unknown> | null;
  connection_info: Record<string, unknown> | null;
  mountpoint: string | null;
  attached_at: string | null;
  host_name: string | null;
}

interface TransferDoc extends Resource {
  name: string | null;
  volume_id: string;
  /** sha256 of the auth key; the key itself is shown once, at create. */
  auth_key_hash: string;
}

interface BackupDoc extends Resource, Timed {
  name: string | null;
  description: string | null;
  volume_id: string;
  snapshot_id: string | null;
  size: number;
  container: string;
  is_incremental: boolean;
  user_id: string;
  data_timestamp: string;
  metadata: Record<string, string>;
  /** The volume's metadata when backed up; a restore brings it back. */
  volume_metadata?: Record<string, string>;
}

interface QosDoc extends Resource {
  name: string;
  consumer: 'front-end' | 'back-end' | 'both';
  specs: Record<string, string>;
}

interface ServiceDoc extends Resource {
  disabled: boolean;
  disabled_reason: string | null;
  frozen: boolean;
}

interface QuotaDoc extends Resource {
  limits: Record<string, number>;
}

const QUOTA_DEFAULTS: Record<string, number> = {
  volumes: 10, snapshots: 10, gigabytes: 1000, backups: 10, backup_gigabytes: 1000, per_volume_gigabytes: -1, groups: 10,
};

type Ctx = RequestContext;

/**
 * The generated response types describe one microversion's shape; the views
 * here add fields by microversion and policy as Cinder does, and the contract
 * tests check every one against the spec at run time. This is the one cast.
 */
function out<M extends VolumeMethodName>(body: unknown): VolumeResponse<M> {
  return body as VolumeResponse<M>;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['1', 't', 'true', 'on', 'y', 'yes'].includes(s)) return true;
  if (['0', 'f', 'false', 'off', 'n', 'no'].includes(s)) return false;
  throw Fault.badRequest(`Invalid input received: ${field} must be a boolean, got '${String(v)}'.`);
}

function invalidVolume(reason: string): Fault {
  return Fault.badRequest(`Invalid volume: ${reason}`);
}

function invalidInput(reason: string): Fault {
  return Fault.badRequest(`Invalid input received: ${reason}`);
}

function overLimit(msg: string): Fault {
  return new Fault('overLimit', msg);
}

/** Applies a due status change; true when the record is gone. */
function settle<T extends Timed>(r: T, now = Date.now()): boolean {
  if (r.ready_at !== null && r.next_status !== null && now >= r.ready_at) {
    if (r.next_status === 'gone') return true;
    r.status = r.next_status;
    r.ready_at = null;
    r.next_status = null;
  }
  return false;
}

function checkMetadata(md: unknown): Record<string, string> {
  if (md === undefined || md === null) return {};
  if (typeof md !== 'object' || Array.isArray(md)) throw invalidInput('Metadata must be a dictionary.');
  const outMd: Record<string, string> = {};
  for (const [k, v] of Object.entries(md as Record<string, unknown>)) {
    if (k.length === 0 || k.length > 255) throw invalidInput('Metadata property key blank or greater than 255 characters.');
    if (typeof v !== 'string') throw invalidInput(`Metadata property value for key '${k}' must be a string.`);
    if (v.length > 255) throw invalidInput('Metadata property value greater than 255 characters.');
    outMd[k] = v;
  }
  return outMd;
}

/** Glance's checksum, when the image side records one (ImageRecord does not promise it). */
function checksumOf(image: ImageRecord): string | undefined {
  const c = (image as ImageRecord & { checksum?: unknown }).checksum;
  return typeof c === 'string' ? c : undefined;
}

function parseSize(raw: unknown): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n <= 0) throw invalidInput(`Volume size '${String(raw)}' must be an integer and greater than 0.`);
  return n;
}

// ---- the service ---------------------------------------------------------------

export class SandboxVolume implements VolumeDriver {
  constructor(readonly cloud: SandboxCloud) {}

  private get store() { return this.cloud.store; }

  // ---- lookups -------------------------------------------------------------------

  private isAdmin(ctx: Ctx): boolean {
    return ctx.auth?.isAdmin === true;
  }

  /** A volume as stored, settled; undefined when missing or gone. */
  /** @internal also used by volumeSide */
  loadVolume(id: string): VolumeDoc | undefined {
    const v = this.store.get<VolumeDoc>(VOLUME, id);
    if (!v) return undefined;
    if (settle(v)) { this.purgeVolume(v); return undefined; }
    return v;
  }

  private purgeVolume(v: VolumeDoc): void {
    this.store.tx(() => {
      this.store.delete(VOLUME, v.id);
      for (const a of this.store.list<AttachmentDoc>(ATTACHMENT, { where: (x) => x.volume_id === v.id })) this.store.delete(ATTACHMENT, a.id);
    });
  }

  /** The caller's volume (any project's for an admin), or Cinder's 404. */
  private volume(ctx: Ctx, id: string): VolumeDoc {
    const mine = this.cloud.project(ctx);
    const v = this.loadVolume(id);
    if (!v || (v.project_id !== mine && !this.isAdmin(ctx))) throw Fault.notFound(`Volume ${id} could not be found.`);
    return v;
  }

  private loadSnapshot(id: string): SnapshotDoc | undefined {
    const s = this.store.get<SnapshotDoc>(SNAPSHOT, id);
    if (!s) return undefined;
    if (settle(s)) { this.store.delete(SNAPSHOT, s.id); return undefined; }
    return s;
  }

  private snapshot(ctx: Ctx, id: string): SnapshotDoc {
    const mine = this.cloud.project(ctx);
    const s = this.loadSnapshot(id);
    if (!s || (s.project_id !== mine && !this.isAdmin(ctx))) throw Fault.notFound(`Snapshot ${id} could not be found.`);
    return s;
  }

  /** Every live volume of a project (null: all), settled. */
  private volumes(projectId: string | null): VolumeDoc[] {
    const now = Date.now();
    const live: VolumeDoc[] = [];
    for (const v of this.store.list<VolumeDoc>(VOLUME, { projectId })) {
      if (settle(v, now)) this.purgeVolume(v);
      else live.push(v);
    }
    return live;
  }

  private snapshots(projectId: string | null): SnapshotDoc[] {
    const now = Date.now();
    const live: SnapshotDoc[] = [];
    for (const s of this.store.list<SnapshotDoc>(SNAPSHOT, { projectId })) {
      if (settle(s, now)) this.store.delete(SNAPSHOT, s.id);
      else live.push(s);
    }
    return live;
  }

  /** The default type, made on first use as Cinder's migration does. */
  /** @internal also used by volumeSide */
  defaultType(): TypeDoc {
    const found = this.store.list<TypeDoc>(VTYPE, { where: (t) => t.name === DEFAULT_TYPE })[0];
    if (found) return found;
    const now = isoNoZone();
    return this.store.tx(() => this.store.insert<TypeDoc>(VTYPE, {
      id: this.store.newId(), project_id: null, name: DEFAULT_TYPE, description: 'Default Volume Type',
      is_public: true, extra_specs: {}, access: [], created_at: now, updated_at: now,
    }));
  }

  private types(): TypeDoc[] {
    this.defaultType();
    return this.store.list<TypeDoc>(VTYPE);
  }

  private typeVisible(ctx: Ctx, t: TypeDoc): boolean {
    return t.is_public || this.isAdmin(ctx) || t.access.includes(this.cloud.project(ctx));
  }

  /** A type by id or name (Cinder's get_by_name_or_id), visible to the caller. */
  private typeByNameOrId(ctx: Ctx, ref: string): TypeDoc {
    const all = this.types();
    const t = all.find((x) => x.id === ref) ?? all.find((x) => x.name === ref);
    if (!t || !this.typeVisible(ctx, t)) throw Fault.notFound(`Volume type with name ${ref} could not be found.`);
    return t;
  }

  private typeById(ctx: Ctx, id: string): TypeDoc {
    this.defaultType();
    const t = this.store.get<TypeDoc>(VTYPE, id);
    if (!t || !this.typeVisible(ctx, t)) throw Fault.notFound(`Volume type ${id} could not be found.`);
    return t;
  }

  // ---- quotas ---------------------------------------------------------------------

  /** A quota class's limits (the `default` class gives every project its defaults). */
  private classLimits(name: string): Record<string, number> {
    const c = this.store.get<QuotaDoc>(QUOTA, `class:${name}`);
    const d = name === 'default' ? undefined : this.store.get<QuotaDoc>(QUOTA, 'class:default');
    const limits: Record<string, number> = { ...QUOTA_DEFAULTS, ...(d?.limits ?? {}), ...(c?.limits ?? {}) };
    for (const t of this.types()) {
      for (const r of ['volumes', 'snapshots', 'gigabytes']) limits[`${r}_${t.name}`] ??= -1;
    }
    return limits;
  }

  private quotaLimits(projectId: string): Record<string, number> {
    const q = this.store.get<QuotaDoc>(QUOTA, projectId);
    const limits: Record<string, number> = { ...this.classLimits('default'), ...(q?.limits ?? {}) };
    for (const t of this.types()) {
      for (const r of ['volumes', 'snapshots', 'gigabytes']) limits[`${r}_${t.name}`] ??= -1;
    }
    return limits;
  }

  private usage(projectId: string): Record<string, number> {
    const vols = this.volumes(projectId);
    const snaps = this.snapshots(projectId);
    const use: Record<string, number> = {
      volumes: vols.length, snapshots: snaps.length,
      gigabytes: vols.reduce((n, v) => n + v.size, 0) + snaps.reduce((n, s) => n + s.size, 0),
      backups: 0, backup_gigabytes: 0, per_volume_gigabytes: 0, groups: 0,
    };
    const backups = this.backups(projectId);
    use.backups = backups.length;
    use.backup_gigabytes = backups.reduce((n, b) => n + b.size, 0);
    for (const t of this.types()) {
      const tv = vols.filter((v) => v.volume_type_id === t.id);
      const ts = snaps.filter((s) => tv.some((v) => v.id === s.volume_id));
      use[`volumes_${t.name}`] = tv.length;
      use[`snapshots_${t.name}`] = ts.length;
      use[`gigabytes_${t.name}`] = tv.reduce((n, v) => n + v.size, 0) + ts.reduce((n, s) => n + s.size, 0);
    }
    return use;
  }

  /** Cinder's quota reservation: 413 VolumeLimitExceeded / VolumeSizeExceedsAvailableQuota / SnapshotLimitExceeded. */
  /** @internal also used by volumeSide */
  checkQuota(projectId: string, delta: { volumes?: number; snapshots?: number; gigabytes?: number; perVolume?: number }): void {
    const limits = this.quotaLimits(projectId);
    const use = this.usage(projectId);
    if (delta.perVolume !== undefined && limits.per_volume_gigabytes! >= 0 && delta.perVolume > limits.per_volume_gigabytes!) {
      throw overLimit(`Requested volume size ${delta.perVolume}G is larger than maximum allowed limit ${limits.per_volume_gigabytes}G.`);
    }
    if (delta.volumes && limits.volumes! >= 0 && use.volumes! + delta.volumes > limits.volumes!) {
      throw overLimit(`VolumeLimitExceeded: Maximum number of volumes allowed (${limits.volumes}) exceeded for quota 'volumes'.`);
    }
    if (delta.snapshots && limits.snapshots! >= 0 && use.snapshots! + delta.snapshots > limits.snapshots!) {
      throw overLimit(`SnapshotLimitExceeded: Maximum number of snapshots allowed (${limits.snapshots}) exceeded`);
    }
    if (delta.gigabytes && limits.gigabytes! >= 0 && use.gigabytes! + delta.gigabytes > limits.gigabytes!) {
      throw overLimit(`VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested ${delta.gigabytes}G, quota is ${limits.gigabytes}G and ${use.gigabytes}G has been consumed.`);
    }
  }

  // ---- views ------------------------------------------------------------------------

  private links(ctx: Ctx, kind: string, projectId: string | null, id: string) {
    return [
      { rel: 'self', href: `${ctx.endpoint}/v3/${projectId ?? ''}/${kind}/${id}` },
      { rel: 'bookmark', href: `${ctx.endpoint}/${projectId ?? ''}/${kind}/${id}` },
    ];
  }

  private volumeSummary(ctx: Ctx, v: VolumeDoc) {
    return { id: v.id, name: v.name, links: this.links(ctx, 'volumes', v.project_id, v.id) };
  }

  /** Cinder's volume detail view (v2 view builder plus v3's fields by microversion and policy). */
  private volumeDetail(ctx: Ctx, v: VolumeDoc, extended = true): Record<string, unknown> {
    const mv = ctx.microversion;
    const admin = this.isAdmin(ctx);
    const type = this.store.get<TypeDoc>(VTYPE, v.volume_type_id);
    const view: Record<string, unknown> = {
      id: v.id,
      status: v.status,
      size: v.size,
      availability_zone: v.availability_zone,
      created_at: v.created_at,
      updated_at: v.updated_at,
      attachments: v.attachments.map((a) => ({
        // Cinder's quirk: an attachment's `id` is the volume's id.
        id: v.id, attachment_id: a.id, volume_id: v.id, server_id: a.server_id,
        host_name: admin ? a.host_name : null, device: a.device, attached_at: a.attached_at,
      })),
      name: v.name,
      description: v.description,
      volume_type: type?.name ?? null,
      snapshot_id: v.snapshot_id,
      source_volid: v.source_volid,
      metadata: { ...v.metadata, ...v.admin_metadata },
      links: this.links(ctx, 'volumes', v.project_id, v.id),
      user_id: v.user_id,
      bootable: String(v.bootable),
      encrypted: Boolean(type?.encryption),
      replication_status: 'disabled',
      consistencygroup_id: null,
      multiattach: v.multiattach,
    };
    if (admin) view.migration_status = v.migration_status;
    // The os-vol-* attributes and image metadata come from Cinder's API
    // extensions, which extend show and detail only (not create or update).
    if (extended) {
      view['os-vol-tenant-attr:tenant_id'] = v.project_id;
      if (v.image_metadata) view.volume_image_metadata = v.image_metadata;
      if (admin) {
        view['os-vol-host-attr:host'] = HOST;
        view['os-vol-mig-status-attr:migstat'] = v.migration_status;
        view['os-vol-mig-status-attr:name_id'] = null;
      }
    }
    Object.assign(view, volumeVersionFields(mv, v.volume_type_id, admin));
    return view;
  }

  /**
   * Cinder's snapshot views: `summary` for the plain list; `detail` adds the
   * microversion fields (create, update); `extended` also the
   * os-extended-snapshot-attributes extension, which extends show and the
   * detail list only.
   */
  private snapshotView(ctx: Ctx, s: SnapshotDoc, level: 'summary' | 'detail' | 'extended'): Record<string, unknown> {
    const view: Record<string, unknown> = {
      id: s.id, created_at: s.created_at, updated_at: s.updated_at, name: s.name, description: s.description,
      volume_id: s.volume_id, status: s.status, size: s.size, metadata: s.metadata,
    };
    if (level === 'summary') return view;
    if (level === 'extended') {
      // Progress follows the status unless os-update_snapshot_status set one.
      view['os-extended-snapshot-attributes:progress'] = s.progress || (s.status === 'available' ? '100%' : '0%');
      view['os-extended-snapshot-attributes:project_id'] = s.project_id;
    }
    const mv = ctx.microversion;
    if (atLeast(mv, '3.14')) view.group_snapshot_id = null;
    if (atLeast(mv, '3.41')) view.user_id = s.user_id;
    if (atLeast(mv, '3.65')) view.consumes_quota = true;
    return view;
  }

  /** Cinder's type view: extra specs and QoS for admins; users see the user-visible specs only. */
  private typeView(ctx: Ctx, t: TypeDoc, withAccess = true): Record<string, unknown> {
    const admin = this.isAdmin(ctx);
    const USER_VISIBLE = ['multiattach', 'RESKEY:availability_zones', 'replication_enabled'];
    const specs = admin ? t.extra_specs : Object.fromEntries(Object.entries(t.extra_specs).filter(([k]) => USER_VISIBLE.includes(k)));
    const view: Record<string, unknown> = { id: t.id, name: t.name, is_public: t.is_public, description: t.description, extra_specs: specs };
    if (admin && t.qos_specs_id) view.qos_specs_id = t.qos_specs_id;
    // The volume_type_access extension extends show, index and create, not update.
    if (withAccess) view['os-volume-type-access:is_public'] = t.is_public;
    return view;
  }

  private attachmentView(a: AttachmentDoc, detail: boolean): Record<string, unknown> {
    const view: Record<string, unknown> = { id: a.id, status: a.attach_status, instance: a.instance_uuid, volume_id: a.volume_id };
    if (!detail) return view;
    // Cinder writes '' for times not set yet (views/attachments.py _normalize).
    view.attached_at = a.attached_at ?? '';
    view.detached_at = '';
    view.attach_mode = a.attach_mode;
    view.connection_info = a.connection_info;
    return view;
  }

  // ---- volume lists -----------------------------------------------------------------

  private sortParams(q: Record<string, unknown>): { key: string; dir: 1 | -1 }[] {
    const keys: { key: string; dir: 1 | -1 }[] = [];
    const dirOf = (d: string | undefined): 1 | -1 => {
      if (d === undefined || d === '') return -1;
      if (d !== 'asc' && d !== 'desc') throw invalidInput(`Unknown sort direction, must be 'desc' or 'asc'`);
      return d === 'asc' ? 1 : -1;
    };
    if (q.sort !== undefined) {
      if (q.sort_key !== undefined || q.sort_dir !== undefined) throw invalidInput("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.");
      for (const part of String(q.sort).split(',')) {
        const [k, d] = part.trim().split(':');
        if (!k) continue;
        keys.push({ key: k.trim(), dir: dirOf(d?.trim()) });
      }
    } else if (q.sort_key !== undefined) {
      keys.push({ key: String(q.sort_key), dir: dirOf(q.sort_dir === undefined ? undefined : String(q.sort_dir)) });
    }
    if (!keys.some((k) => k.key === 'created_at')) keys.push({ key: 'created_at', dir: keys[0]?.dir ?? -1 });
    if (!keys.some((k) => k.key === 'id')) keys.push({ key: 'id', dir: keys[0]?.dir ?? -1 });
    return keys;
  }

  private sortBy<T>(items: T[], keys: { key: string; dir: 1 | -1 }[], value: (item: T, key: string) => unknown): T[] {
    return [...items].sort((a, b) => {
      for (const { key, dir } of keys) {
        const x = value(a, key), y = value(b, key);
        if (x === y) continue;
        if (x === null || x === undefined) return -dir;
        if (y === null || y === undefined) return dir;
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : 1;
        if (c !== 0) return c * dir;
      }
      return 0;
    });
  }

  private page<T extends { id: string }>(items: T[], q: Record<string, unknown>): { items: T[]; more: boolean } {
    const marker = q.marker === undefined ? undefined : String(q.marker);
    if (marker && !items.some((i) => i.id === marker)) throw Fault.notFound(`Marker ${marker} could not be found.`);
    const offset = q.offset === undefined ? 0 : Number(q.offset);
    if (!Number.isInteger(offset) || offset < 0) throw invalidInput(`Invalid offset: ${String(q.offset)}`);
    const slice = offset ? items.slice(offset) : items;
    return paginate(slice, { limit: q.limit as string | undefined, marker }, (i) => i.id);
  }

  private parseMetadataFilter(raw: unknown): Record<string, string> {
    if (typeof raw === 'object' && raw !== null) return raw as Record<string, string>;
    const s = String(raw);
    try {
      return JSON.parse(s) as Record<string, string>;
    } catch {
      // python-cinderclient sends Python's dict repr: {'k': 'v'}
      try { return JSON.parse(s.replace(/'/g, '"')) as Record<string, string>; } catch { throw invalidInput(`Invalid metadata filter: ${s}`); }
    }
  }

  private selectVolumes(ctx: Ctx, q: Record<string, unknown>): VolumeDoc[] {
    const scope = this.cloud.listScope(ctx, q);
    let items = this.volumes(scope);
    const typeName = (v: VolumeDoc) => this.store.get<TypeDoc>(VTYPE, v.volume_type_id)?.name;
    if (q.name !== undefined) items = items.filter((v) => v.name === String(q.name));
    if (q['name~'] !== undefined) items = items.filter((v) => (v.name ?? '').includes(String(q['name~'])));
    if (q.status !== undefined) items = items.filter((v) => v.status === String(q.status));
    if (q.bootable !== undefined) { const b = bool(q.bootable, 'bootable'); items = items.filter((v) => v.bootable === b); }
    if (q.availability_zone !== undefined) items = items.filter((v) => v.availability_zone === String(q.availability_zone));
    if (q.volume_type !== undefined) items = items.filter((v) => typeName(v) === String(q.volume_type) || v.volume_type_id === String(q.volume_type));
    if (q.size !== undefined) items = items.filter((v) => v.size === Number(q.size));
    if (q.user_id !== undefined) items = items.filter((v) => v.user_id === String(q.user_id));
    if (q.metadata !== undefined) {
      const md = this.parseMetadataFilter(q.metadata);
      items = items.filter((v) => Object.entries(md).every(([k, val]) => ({ ...v.metadata, ...v.admin_metadata })[k] === String(val)));
    }
    const keys = this.sortParams(q);
    const valid = ['id', 'name', 'display_name', 'size', 'status', 'created_at', 'updated_at', 'bootable', 'availability_zone', 'volume_type', 'user_id', 'project_id'];
    for (const k of keys) if (!valid.includes(k.key)) throw invalidInput(`Invalid sort key: ${k.key}`);
    return this.sortBy(items, keys, (v, k) => {
      switch (k) {
        case 'name': case 'display_name': return v.name;
        case 'volume_type': return typeName(v);
        case 'bootable': return Number(v.bootable);
        default: return (v as unknown as Record<string, unknown>)[k];
      }
    });
  }

  private listing<T extends { id: string }>(ctx: Ctx, q: Record<string, unknown>, items: T[], coll: string, view: (t: T) => unknown): Record<string, unknown> {
    const { items: pageItems } = this.page(items, q);
    const body: Record<string, unknown> = { [coll]: pageItems.map(view) };
    // Cinder's _get_collection_links: a next link whenever the page is full,
    // even when it is the last one (the next page is then empty).
    const full = pageItems.length > 0 && pageItems.length === parseLimit(q.limit as string | undefined);
    if (full) body[`${coll}_links`] = [nextLink(ctx.url, q, pageItems[pageItems.length - 1]!.id)];
    if (atLeast(ctx.microversion, '3.45') && q.with_count !== undefined && bool(q.with_count, 'with_count')) body.count = items.length;
    return body;
  }

  private query(req: { query: unknown }): Record<string, unknown> {
    return { ...(req.query as Record<string, unknown>) };
  }

  async listVolumes(req: VolumeRequest<'listVolumes'>): Promise<VolumeResponse<'listVolumes'>> {
    const q = this.query(req);
    return out<'listVolumes'>(this.listing(req.context, q, this.selectVolumes(req.context, q), 'volumes', (v) => this.volumeSummary(req.context, v)));
  }

  async listVolumesDetail(req: VolumeRequest<'listVolumesDetail'>): Promise<VolumeResponse<'listVolumesDetail'>> {
    const q = this.query(req);
    return out<'listVolumesDetail'>(this.listing(req.context, q, this.selectVolumes(req.context, q), 'volumes', (v) => this.volumeDetail(req.context, v)));
  }

  async listVolumeSummary(req: VolumeRequest<'listVolumeSummary'>): Promise<VolumeResponse<'listVolumeSummary'>> {
    const q = this.query(req);
    const items = this.selectVolumes(req.context, q);
    const summary: Record<string, unknown> = { total_count: items.length, total_size: items.reduce((n, v) => n + v.size, 0) };
    if (atLeast(req.context.microversion, '3.36')) {
      const md: Record<string, string[]> = {};
      for (const v of items) for (const [k, val] of Object.entries(v.metadata)) { md[k] ??= []; if (!md[k]!.includes(val)) md[k]!.push(val); }
      summary.metadata = md;
    }
    return out<'listVolumeSummary'>({ 'volume-summary': summary });
  }

  async showVolume(req: VolumeRequest<'showVolume'>): Promise<VolumeResponse<'showVolume'>> {
    return out<'showVolume'>({ volume: this.volumeDetail(req.context, this.volume(req.context, req.path.id)) });
  }

  // ---- create, update, delete ----------------------------------------------------

  /** The volume record Cinder's create flow makes (quota checked, nothing stored). */
  /** @internal also used by volumeSide */
  newVolume(projectId: string, userId: string, spec: {
    size: number; name: string | null; description: string | null; type: TypeDoc; metadata: Record<string, string>;
    snapshotId?: string | null; sourceVolid?: string | null; image?: ImageRecord | null; multiattach?: boolean; readyNow?: boolean;
  }): VolumeDoc {
    const now = Date.now();
    const delay = this.cloud.options.buildDelayMs;
    const image = spec.image ?? null;
    const imageMeta: Record<string, string> | null = image ? {
      image_id: image.id, image_name: image.name ?? '', container_format: image.container_format ?? 'bare',
      ...(typeof checksumOf(image) === 'string' ? { checksum: checksumOf(image)! } : {}),
      disk_format: image.disk_format ?? 'raw', min_disk: String(image.min_disk), min_ram: String(image.min_ram), size: String(image.size ?? 0),
      ...Object.fromEntries(Object.entries(image.properties ?? {}).filter(([, v]) => typeof v === 'string') as [string, string][]),
    } : null;
    const ready = spec.readyNow || delay <= 0;
    return {
      id: this.store.newId(), project_id: projectId, name: spec.name, description: spec.description, user_id: userId,
      created_at: isoNoZone(now), updated_at: isoNoZone(now),
      status: ready ? 'available' : 'creating', ready_at: ready ? null : now + delay, next_status: ready ? null : 'available',
      size: spec.size, bootable: image !== null, attachments: [], volume_type_id: spec.type.id, availability_zone: AZ,
      metadata: spec.metadata, admin_metadata: {}, snapshot_id: spec.snapshotId ?? null, source_volid: spec.sourceVolid ?? null,
      image_id: image?.id ?? null, image_metadata: imageMeta,
      multiattach: spec.multiattach ?? /^<is>\s*true$/i.test(spec.type.extra_specs.multiattach ?? ''),
      attach_status: 'detached', migration_status: null, previous_status: null,
    };
  }

  /** @internal also used by volumeSide */
  imageFor(projectId: string, imageId: string, size: number | null): { image: ImageRecord; size: number } {
    const image = this.cloud.image.image(projectId, imageId);
    if (!image) throw Fault.notFound(`Image ${imageId} could not be found.`);
    if (image.status !== 'active') throw invalidInput(`Image ${imageId} is not active.`);
    const imageGb = Math.ceil((image.size ?? 0) / 1024 ** 3);
    const need = Math.max(imageGb, image.min_disk, 1);
    const got = size ?? need;
    if (imageGb > got) throw invalidInput(`Size of specified image ${imageGb}GB is larger than volume size ${got}GB.`);
    if (image.min_disk > got) throw invalidInput(`Volume size ${got}GB cannot be smaller than the image minDisk size ${image.min_disk}GB.`);
    return { image, size: got };
  }

  async createVolume(req: VolumeRequest<'createVolume'>): Promise<VolumeResponse<'createVolume'>> {
    const ctx = req.context;
    const projectId = this.cloud.project(ctx);
    const body = (req.body as { volume: Record<string, unknown> }).volume;
    return this.store.tx(() => {
      const name = (body.name ?? body.display_name ?? null) as string | null;
      const description = (body.description ?? body.display_description ?? null) as string | null;
      const az = body.availability_zone as string | null | undefined;
      if (az && az !== AZ) throw invalidInput(`Availability zone '${az}' is invalid.`);
      let size = body.size === undefined || body.size === null ? null : parseSize(body.size);
      let type = body.volume_type ? this.typeByNameOrId(ctx, String(body.volume_type)) : undefined;
      let snapshotId: string | null = null;
      let sourceVolid: string | null = null;
      let image: ImageRecord | null = null;
      if (body.snapshot_id) {
        const snap = this.snapshot(ctx, String(body.snapshot_id));
        if (snap.status !== 'available') throw invalidInput(`Originating snapshot status must be one of 'available' values`);
        if (size !== null && size < snap.size) throw invalidInput(`Volume size '${size}'GB cannot be smaller than the snapshot size ${snap.size}GB. They must be >= original snapshot size.`);
        size ??= snap.size;
        snapshotId = snap.id;
        const src = this.store.get<VolumeDoc>(VOLUME, snap.volume_id);
        if (!type && src) type = this.store.get<TypeDoc>(VTYPE, src.volume_type_id);
      }
      if (body.source_volid) {
        const src = this.volume(ctx, String(body.source_volid));
        if (!['available', 'in-use'].includes(src.status)) throw invalidVolume(`Volume ${src.id} status must be available or in-use, but current status is: ${src.status}.`);
        if (size !== null && size < src.size) throw invalidInput(`Volume size '${size}'GB cannot be smaller than original volume size ${src.size}GB. They must be >= original volume size.`);
        size ??= src.size;
        sourceVolid = src.id;
        type ??= this.store.get<TypeDoc>(VTYPE, src.volume_type_id);
        if (src.bootable) image = src.image_id ? { id: src.image_id } as ImageRecord : null;
      }
      const imageRef = (body.imageRef ?? body.image_id) as string | null | undefined;
      if (imageRef) {
        const got = this.imageFor(projectId, imageRef, size);
        image = got.image;
        size = got.size;
      }
      if (size === null) throw invalidInput('Size must be specified as an integer value greater than zero.');
      type ??= this.defaultType();
      const metadata = checkMetadata(body.metadata);
      const multiattach = body.multiattach === undefined || body.multiattach === null ? undefined : bool(body.multiattach, 'multiattach');
      this.checkQuota(projectId, { volumes: 1, gigabytes: size, perVolume: size });
      const v = this.newVolume(projectId, ctx.auth!.userId, { size, name, description, type, metadata, snapshotId, sourceVolid, image, multiattach });
      if (sourceVolid && !image) v.bootable = this.store.get<VolumeDoc>(VOLUME, sourceVolid)?.bootable ?? false;
      this.store.insert(VOLUME, v);
      return new Reply(out<'createVolume'>({ volume: this.volumeDetail(ctx, v, false) }), 202);
    }) as unknown as VolumeResponse<'createVolume'>;
  }

  async updateVolume(req: VolumeRequest<'updateVolume'>): Promise<VolumeResponse<'updateVolume'>> {
    const ctx = req.context;
    const body = ((req.body ?? {}) as { volume?: Record<string, unknown> }).volume ?? {};
    return this.store.tx(() => {
      const v = this.volume(ctx, req.path.id);
      if ('name' in body || 'display_name' in body) v.name = (body.name ?? body.display_name ?? null) as string | null;
      if ('description' in body || 'display_description' in body) v.description = (body.description ?? body.display_description ?? null) as string | null;
      if ('metadata' in body) v.metadata = checkMetadata(body.metadata);
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
      return out<'updateVolume'>({ volume: this.volumeDetail(ctx, v, false) });
    });
  }

  /** Cinder's volume_api.delete: refused unless available-ish, detached and without snapshots. */
  /** @internal also used by volumeSide */
  deleteChecked(v: VolumeDoc, opts: { cascade?: boolean; force?: boolean } = {}): void {
    const okStatus = ['available', 'error', 'error_restoring', 'error_extending', 'error_managing'];
    const snaps = this.snapshots(v.project_id).filter((s) => s.volume_id === v.id);
    const attached = v.attachments.length > 0 || v.attach_status === 'attached';
    if ((!opts.force && !okStatus.includes(v.status)) || attached || v.migration_status || (snaps.length > 0 && !opts.cascade)) {
      const statusPart = opts.force ? '' : 'status must be available or error or error_restoring or error_extending or error_managing and ';
      throw invalidVolume(`Volume ${statusPart}must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer.`);
    }
    if (opts.cascade) {
      for (const s of snaps) {
        if (!['available', 'error', 'deleting'].includes(s.status)) throw invalidVolume(`Snapshot ${s.id} status must be available or error to delete it with the volume (cascade).`);
        this.markDeleting(SNAPSHOT, s);
      }
    }
    this.markDeleting(VOLUME, v);
  }

  private markDeleting<T extends Resource & Timed>(kind: string, r: T): void {
    const delay = this.cloud.options.buildDelayMs;
    if (delay <= 0) { this.store.delete(kind, r.id); if (kind === VOLUME) this.purgeVolume(r as unknown as VolumeDoc); return; }
    r.status = 'deleting';
    r.ready_at = Date.now() + delay;
    r.next_status = 'gone';
    r.updated_at = isoNoZone();
    this.store.put(kind, r, false);
  }

  async deleteVolume(req: VolumeRequest<'deleteVolume'>): Promise<VolumeResponse<'deleteVolume'>> {
    const ctx = req.context;
    const q = this.query(req);
    const cascade = q.cascade !== undefined && bool(q.cascade, 'cascade');
    const force = atLeast(ctx.microversion, '3.23') && q.force !== undefined && bool(q.force, 'force');
    if (force && !this.isAdmin(ctx)) throw Fault.forbidden('Policy doesn\'t allow volume:force_delete to be performed.');
    this.store.tx(() => this.deleteChecked(this.volume(ctx, req.path.id), { cascade, force }));
  }

  // ---- metadata -----------------------------------------------------------------

  async listVolumeMetadata(req: VolumeRequest<'listVolumeMetadata'>): Promise<VolumeResponse<'listVolumeMetadata'>> {
    const v = this.volume(req.context, req.path.volume_id);
    return out<'listVolumeMetadata'>({ metadata: { ...v.metadata, ...v.admin_metadata } });
  }

  async createVolumeMetadata(req: VolumeRequest<'createVolumeMetadata'>): Promise<VolumeResponse<'createVolumeMetadata'>> {
    const md = checkMetadata((req.body as { metadata?: unknown }).metadata);
    return this.store.tx(() => {
      const v = this.volume(req.context, req.path.volume_id);
      v.metadata = { ...v.metadata, ...md };
      this.store.put(VOLUME, v, false);
      return out<'createVolumeMetadata'>({ metadata: v.metadata });
    });
  }

  async replaceVolumeMetadata(req: VolumeRequest<'replaceVolumeMetadata'>): Promise<VolumeResponse<'replaceVolumeMetadata'>> {
    const md = checkMetadata((req.body as { metadata?: unknown }).metadata);
    return this.store.tx(() => {
      const v = this.volume(req.context, req.path.volume_id);
      v.metadata = md;
      this.store.put(VOLUME, v, false);
      return out<'replaceVolumeMetadata'>({ metadata: v.metadata });
    });
  }

  async showVolumeMetadata(req: VolumeRequest<'showVolumeMetadata'>): Promise<VolumeResponse<'showVolumeMetadata'>> {
    const v = this.volume(req.context, req.path.volume_id);
    const all = { ...v.metadata, ...v.admin_metadata };
    const value = all[req.path.id];
    if (value === undefined) throw Fault.notFound(`Volume ${v.id} has no metadata with key ${req.path.id}.`);
    return out<'showVolumeMetadata'>({ meta: { [req.path.id]: value } });
  }

  async updateVolumeMetadata(req: VolumeRequest<'updateVolumeMetadata'>): Promise<VolumeResponse<'updateVolumeMetadata'>> {
    const meta = checkMetadata((req.body as { meta?: unknown }).meta);
    if (Object.keys(meta).length !== 1) throw Fault.badRequest('Request body contains too many items.');
    if (!(req.path.id in meta)) throw Fault.badRequest('Request body and URI mismatch');
    return this.store.tx(() => {
      const v = this.volume(req.context, req.path.volume_id);
      v.metadata = { ...v.metadata, ...meta };
      this.store.put(VOLUME, v, false);
      return out<'updateVolumeMetadata'>({ meta });
    });
  }

  async deleteVolumeMetadata(req: VolumeRequest<'deleteVolumeMetadata'>): Promise<VolumeResponse<'deleteVolumeMetadata'>> {
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.volume_id);
      if (!(req.path.id in v.metadata)) throw Fault.notFound(`Volume ${v.id} has no metadata with key ${req.path.id}.`);
      delete v.metadata[req.path.id];
      this.store.put(VOLUME, v, false);
    });
  }

  // ---- attach and detach ----------------------------------------------------------

  /** Recomputes the volume's attachments and status from its attachment records. */
  private syncAttachments(v: VolumeDoc): void {
    const atts = this.store.list<AttachmentDoc>(ATTACHMENT, { where: (a) => a.volume_id === v.id });
    const attached = atts.filter((a) => a.attach_status === 'attached');
    v.attachments = attached.map((a) => ({ id: a.id, server_id: a.instance_uuid ?? '', device: a.mountpoint, attached_at: a.attached_at ?? isoNoZone(), host_name: a.host_name }));
    if (attached.length) {
      v.status = 'in-use';
      v.attach_status = 'attached';
      v.admin_metadata.attached_mode = attached[0]!.attach_mode === 'ro' ? 'ro' : 'rw';
    } else {
      delete v.admin_metadata.attached_mode;
      const pending = atts.find((a) => a.attach_status === 'attaching' || a.attach_status === 'reserved');
      v.status = pending ? (pending.attach_status === 'attaching' ? 'attaching' : 'reserved') : 'available';
      v.attach_status = 'detached';
    }
    v.updated_at = isoNoZone();
    this.store.put(VOLUME, v, false);
  }

  private newAttachment(v: VolumeDoc, instance: string | null, status: AttachmentDoc['attach_status'], extra: Partial<AttachmentDoc> = {}): AttachmentDoc {
    const now = isoNoZone();
    return this.store.insert<AttachmentDoc>(ATTACHMENT, {
      id: this.store.newId(), project_id: v.project_id, created_at: now, updated_at: now,
      volume_id: v.id, instance_uuid: instance, attach_status: status, attach_mode: 'null', connector: null,
      connection_info: null, mountpoint: null, attached_at: status === 'attached' ? now : null, host_name: null, ...extra,
    });
  }

  /** os-attach (and Nova's attach): the volume must be available, reserved or attaching (or multiattach in-use). */
  /** @internal also used by volumeSide */
  attachTo(v: VolumeDoc, instance: string | null, host: string | null, mountpoint: string | null, mode: 'rw' | 'ro'): AttachmentDoc {
    const ok = ['available', 'attaching', 'reserved'].includes(v.status) || (v.multiattach && v.status === 'in-use');
    if (!ok) {
      if (v.status === 'in-use') throw Fault.badRequest('Error attaching volume - InvalidVolume: Invalid volume: volume is already attached');
      throw invalidVolume(`Volume ${v.id} status must be available or attaching to attach, but the current status is: ${v.status}.`);
    }
    if (v.admin_metadata.readonly === 'True' && mode !== 'ro') {
      throw Fault.badRequest(`Error attaching volume - InvalidVolumeAttachMode: Invalid attaching mode '${mode}' for volume ${v.id}.`);
    }
    const pending = this.store.list<AttachmentDoc>(ATTACHMENT, { where: (a) => a.volume_id === v.id && a.attach_status !== 'attached' && (a.instance_uuid === instance || a.instance_uuid === null) })[0];
    let a: AttachmentDoc;
    if (pending) {
      Object.assign(pending, { instance_uuid: instance, attach_status: 'attached', attach_mode: mode, mountpoint, host_name: host, attached_at: isoNoZone() });
      a = this.store.put(ATTACHMENT, pending);
    } else {
      a = this.newAttachment(v, instance, 'attached', { attach_mode: mode, mountpoint, host_name: host });
    }
    this.syncAttachments(v);
    return a;
  }

  /** @internal also used by volumeSide */
  detachFrom(v: VolumeDoc, attachmentId: string | null): void {
    const atts = this.store.list<AttachmentDoc>(ATTACHMENT, { where: (a) => a.volume_id === v.id });
    let target: AttachmentDoc | undefined;
    if (attachmentId) {
      target = atts.find((a) => a.id === attachmentId);
      if (!target) throw Fault.badRequest(`Error detaching volume - VolumeAttachmentNotFound: Volume attachment could not be found with filter: attachment_id = ${attachmentId}.`);
    } else {
      const attached = atts.filter((a) => a.attach_status === 'attached');
      if (attached.length > 1) throw Fault.badRequest('Error detaching volume - InvalidVolume: Invalid volume: Detach volume failed: More than one attachment, but no attachment_id provided.');
      target = attached[0];
    }
    if (target) this.store.delete(ATTACHMENT, target.id);
    this.syncAttachments(v);
  }

  async reserveVolume(req: VolumeRequest<'reserveVolume'>): Promise<VolumeResponse<'reserveVolume'>> {
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      const ok = v.status === 'available' || (v.multiattach && v.status === 'in-use');
      if (!ok) throw invalidVolume(`Volume status must be ${v.multiattach ? 'available or in-use' : 'available'} to reserve, but the status is ${v.status}.`);
      v.previous_status = v.status;
      v.status = 'attaching';
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
  }

  async unreserveVolume(req: VolumeRequest<'unreserveVolume'>): Promise<VolumeResponse<'unreserveVolume'>> {
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      if (v.status !== 'attaching') return;
      v.status = v.attachments.length ? 'in-use' : 'available';
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
  }

  async attachVolume(req: VolumeRequest<'attachVolume'>): Promise<VolumeResponse<'attachVolume'>> {
    const b = req.body['os-attach'] as { instance_uuid?: string; host_name?: string; mountpoint: string; mode?: 'rw' | 'ro' };
    if (b.instance_uuid && b.host_name) throw Fault.badRequest(`Invalid request to attach volume to an instance ${b.instance_uuid} and a host ${b.host_name} simultaneously`);
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      this.attachTo(v, b.instance_uuid ?? null, b.host_name ?? null, b.mountpoint, b.mode ?? 'rw');
    });
  }

  async detachVolume(req: VolumeRequest<'detachVolume'>): Promise<VolumeResponse<'detachVolume'>> {
    const b = (req.body['os-detach'] ?? {}) as { attachment_id?: string };
    this.store.tx(() => this.detachFrom(this.volume(req.context, req.path.id), b.attachment_id ?? null));
  }

  async beginDetachingVolume(req: VolumeRequest<'beginDetachingVolume'>): Promise<VolumeResponse<'beginDetachingVolume'>> {
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      if (v.status !== 'in-use' || v.attach_status !== 'attached') {
        if (v.multiattach) return;
        throw invalidVolume("Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.");
      }
      v.status = 'detaching';
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
  }

  async rollDetachingVolume(req: VolumeRequest<'rollDetachingVolume'>): Promise<VolumeResponse<'rollDetachingVolume'>> {
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      if (v.status !== 'detaching') return;
      v.status = 'in-use';
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
  }

  async initializeConnectionVolume(req: VolumeRequest<'initializeConnectionVolume'>): Promise<VolumeResponse<'initializeConnectionVolume'>> {
    const v = this.volume(req.context, req.path.id);
    if (v.status.startsWith('error') || v.status === 'creating' || v.status === 'deleting') {
      throw invalidVolume(`Volume ${v.id} status must be available, in-use, attaching or reserved to initialize a connection, but the current status is: ${v.status}.`);
    }
    const info = { driver_volume_type: 'local', data: { volume_id: v.id, device_path: `/dev/sandbox/${v.id}`, access_mode: v.admin_metadata.readonly === 'True' ? 'ro' : 'rw' } };
    return new Reply(out<'initializeConnectionVolume'>({ connection_info: info }), 200) as unknown as VolumeResponse<'initializeConnectionVolume'>;
  }

  async terminateConnectionVolume(req: VolumeRequest<'terminateConnectionVolume'>): Promise<VolumeResponse<'terminateConnectionVolume'>> {
    this.volume(req.context, req.path.id);
  }

  async extendVolume(req: VolumeRequest<'extendVolume'>): Promise<VolumeResponse<'extendVolume'>> {
    const raw = req.body['os-extend'].new_size;
    const newSize = typeof raw === 'number' ? raw : /^\s*\d+\s*$/.test(String(raw)) ? Number(raw) : NaN;
    if (!Number.isInteger(newSize)) throw Fault.badRequest('New volume size must be specified as an integer.');
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      const inUseOk = atLeast(req.context.microversion, '3.42') && v.status === 'in-use';
      if (v.status !== 'available' && !inUseOk) {
        throw invalidVolume(`Volume ${v.id} status must be '${atLeast(req.context.microversion, '3.42') ? 'available or in-use' : 'available'}' to extend, currently ${v.status}.`);
      }
      if (newSize <= v.size) throw invalidInput(`New size for extend must be greater than current size. (current: ${v.size}, extended: ${newSize}).`);
      this.checkQuota(v.project_id!, { gigabytes: newSize - v.size, perVolume: newSize });
      const delay = this.cloud.options.buildDelayMs;
      v.size = newSize;
      if (delay > 0) {
        v.previous_status = v.status;
        v.next_status = v.status;
        v.status = 'extending';
        v.ready_at = Date.now() + delay;
      }
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
  }

  /** os-volume_upload_image: a Glance image of the volume; the volume is `uploading` for the build delay. */
  async volumeUploadImageVolume(req: VolumeRequest<'volumeUploadImageVolume'>): Promise<VolumeResponse<'volumeUploadImageVolume'>> {
    const b = req.body['os-volume_upload_image'] as { image_name: string; force?: boolean | string; disk_format?: string; container_format?: string | null };
    const force = b.force !== undefined && bool(b.force, 'force');
    return this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      if (!(v.status === 'available' || (force && v.status === 'in-use'))) {
        throw invalidVolume(`Volume ${v.id} status must be available${force ? ' or in-use' : ''}, but current status is: ${v.status}.`);
      }
      const disk = b.disk_format ?? 'raw';
      const container = b.container_format ?? 'bare';
      const image = this.cloud.image.snapshotImage(v.project_id!, b.image_name, v.image_id, {});
      // ImageSide.snapshotImage takes no formats; the upload names them, so set them on the
      // new image record (ImageRecord's shared fields) in the same transaction.
      const stored = this.store.get<ImageRecord>('image', image.id);
      if (stored) {
        Object.assign(stored, { disk_format: disk, container_format: container });
        this.store.put('image', stored, false);
        Object.assign(image, { disk_format: disk, container_format: container });
      }
      const type = this.store.get<TypeDoc>(VTYPE, v.volume_type_id);
      const delay = this.cloud.options.buildDelayMs;
      if (delay > 0) Object.assign(v, { previous_status: v.status, next_status: v.status, status: 'uploading', ready_at: Date.now() + delay });
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
      return new Reply(out<'volumeUploadImageVolume'>({
        'os-volume_upload_image': {
          id: v.id, updated_at: v.updated_at, status: 'uploading', display_description: v.description, size: v.size,
          volume_type: type ? { id: type.id, name: type.name, description: type.description, is_public: type.is_public, extra_specs: type.extra_specs, qos_specs_id: null, deleted: false, created_at: type.created_at, updated_at: type.updated_at, deleted_at: null } : null,
          image_id: image.id, container_format: image.container_format ?? container, disk_format: image.disk_format ?? disk, image_name: b.image_name,
          visibility: image.visibility, protected: false,
        },
      }), 202) as unknown as VolumeResponse<'volumeUploadImageVolume'>;
    });
  }

  async setBootableVolume(req: VolumeRequest<'setBootableVolume'>): Promise<VolumeResponse<'setBootableVolume'>> {
    const bootable = bool(req.body['os-set_bootable'].bootable, 'bootable');
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      v.bootable = bootable;
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
    return new Reply(undefined, 200) as unknown as VolumeResponse<'setBootableVolume'>;
  }

  // ---- image metadata (cinder/api/contrib/volume_image_metadata.py): 200 with the whole set ----

  async setImageMetadataVolume(req: VolumeRequest<'setImageMetadataVolume'>): Promise<VolumeResponse<'setImageMetadataVolume'>> {
    const meta = req.body['os-set_image_metadata'].metadata;
    const all = this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      v.image_metadata = { ...(v.image_metadata ?? {}), ...meta };
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
      return v.image_metadata;
    });
    return new Reply({ metadata: all }, 200) as unknown as VolumeResponse<'setImageMetadataVolume'>;
  }

  async showImageMetadataVolume(req: VolumeRequest<'showImageMetadataVolume'>): Promise<VolumeResponse<'showImageMetadataVolume'>> {
    const v = this.volume(req.context, req.path.id);
    return new Reply({ metadata: v.image_metadata ?? {} }, 200) as unknown as VolumeResponse<'showImageMetadataVolume'>;
  }

  async unsetImageMetadataVolume(req: VolumeRequest<'unsetImageMetadataVolume'>): Promise<VolumeResponse<'unsetImageMetadataVolume'>> {
    const key = req.body['os-unset_image_metadata'].key;
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      if (!v.image_metadata || !Object.hasOwn(v.image_metadata, key)) throw Fault.notFound(`Glance metadata for volume ${v.id} could not be found.`);
      const { [key]: _gone, ...rest } = v.image_metadata;
      v.image_metadata = rest;
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
    return new Reply(undefined, 200) as unknown as VolumeResponse<'unsetImageMetadataVolume'>;
  }

  async updateReadonlyFlagVolume(req: VolumeRequest<'updateReadonlyFlagVolume'>): Promise<VolumeResponse<'updateReadonlyFlagVolume'>> {
    const readonly = bool(req.body['os-update_readonly_flag'].readonly, 'readonly');
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      if (!['available', 'in-use'].includes(v.status)) throw invalidVolume(`Volume ${v.id} status must be available or in-use, but current status is: ${v.status}.`);
      v.admin_metadata.readonly = readonly ? 'True' : 'False';
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
  }

  async resetStatusVolume(req: VolumeRequest<'resetStatusVolume'>): Promise<VolumeResponse<'resetStatusVolume'>> {
    const b = req.body['os-reset_status'] as { status?: string | null; attach_status?: string | null; migration_status?: string | null };
    const STATUSES = ['available', 'error', 'creating', 'deleting', 'in-use', 'attaching', 'detaching', 'error_deleting', 'maintenance', 'reserved', 'error_extending', 'extending', 'downloading', 'uploading', 'retyping', 'backing-up', 'restoring-backup', 'error_restoring', 'error_managing', 'managing'];
    if (b.status && !STATUSES.includes(b.status)) throw Fault.badRequest(`Must specify a valid status`);
    if (b.attach_status && !['attached', 'detached'].includes(b.attach_status)) throw Fault.badRequest(`Must specify a valid attach status`);
    if (!b.status && !b.attach_status && !b.migration_status) throw Fault.badRequest('Must specify \'status\', \'attach_status\' or \'migration_status\' for update.');
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      if (b.attach_status === 'detached') {
        for (const a of this.store.list<AttachmentDoc>(ATTACHMENT, { where: (x) => x.volume_id === v.id })) this.store.delete(ATTACHMENT, a.id);
        v.attachments = [];
        v.attach_status = 'detached';
      } else if (b.attach_status === 'attached') {
        v.attach_status = 'attached';
      }
      if (b.status) { v.status = b.status; v.ready_at = null; v.next_status = null; }
      if (b.migration_status !== undefined) v.migration_status = b.migration_status === 'none' ? null : b.migration_status;
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
  }

  async forceDeleteVolume(req: VolumeRequest<'forceDeleteVolume'>): Promise<VolumeResponse<'forceDeleteVolume'>> {
    this.store.tx(() => this.deleteChecked(this.volume(req.context, req.path.id), { force: true }));
  }

  async retypeVolume(req: VolumeRequest<'retypeVolume'>): Promise<VolumeResponse<'retypeVolume'>> {
    const b = req.body['os-retype'];
    this.store.tx(() => {
      const v = this.volume(req.context, req.path.id);
      const t = this.typeByNameOrId(req.context, b.new_type);
      if (!['available', 'in-use'].includes(v.status)) throw invalidVolume(`Volume ${v.id} status must be available or in-use, but current status is: ${v.status}.`);
      if (t.id === v.volume_type_id) throw invalidInput(`New volume_type same as original: ${t.name}.`);
      v.volume_type_id = t.id;
      v.updated_at = isoNoZone();
      this.store.put(VOLUME, v, false);
    });
  }

  // ---- v3 attachments ----------------------------------------------------------------

  private attachment(ctx: Ctx, id: string): AttachmentDoc {
    const a = this.store.get<AttachmentDoc>(ATTACHMENT, id);
    if (!a || (a.project_id !== this.cloud.project(ctx) && !this.isAdmin(ctx)) || !this.loadVolume(a.volume_id)) {
      throw Fault.notFound(`Volume attachment could not be found with filter: attachment_id = ${id}.`);
    }
    return a;
  }

  private connect(v: VolumeDoc, a: AttachmentDoc, connector: Record<string, unknown>, modeArg?: string): void {
    const mode = (modeArg && modeArg !== 'null' ? modeArg : (connector.mode as string | undefined)) ?? (v.admin_metadata.readonly === 'True' ? 'ro' : 'rw');
    a.connector = connector;
    a.attach_mode = mode === 'ro' ? 'ro' : 'rw';
    a.mountpoint = (connector.mountpoint as string | undefined) ?? a.mountpoint;
    a.host_name = (connector.host as string | undefined) ?? null;
    a.connection_info = { driver_volume_type: 'local', data: { volume_id: v.id, device_path: `/dev/sandbox/${v.id}`, access_mode: a.attach_mode }, attachment_id: a.id };
    a.attach_status = 'attaching';
  }

  async createAttachment(req: VolumeRequest<'createAttachment'>): Promise<VolumeResponse<'createAttachment'>> {
    const ctx = req.context;
    const b = (req.body as { attachment: { volume_uuid: string; instance_uuid?: string | null; connector?: Record<string, unknown> | null; mode?: string } }).attachment;
    return this.store.tx(() => {
      const v = this.volume(ctx, b.volume_uuid);
      const ok = ['available', 'reserved', 'downloading'].includes(v.status) || (v.multiattach && ['in-use', 'reserved', 'attaching'].includes(v.status));
      if (!ok) throw invalidVolume(`Volume ${v.id} status must be available or downloading to reserve, but the current status is ${v.status}.`);
      const a = this.newAttachment(v, b.instance_uuid ?? null, 'reserved');
      if (b.connector) this.connect(v, a, b.connector, b.mode);
      else if (b.mode) a.attach_mode = b.mode === 'ro' ? 'ro' : 'rw';
      this.store.put(ATTACHMENT, a);
      this.syncAttachments(v);
      return out<'createAttachment'>({ attachment: this.attachmentView(a, true) });
    });
  }

  async updateAttachment(req: VolumeRequest<'updateAttachment'>): Promise<VolumeResponse<'updateAttachment'>> {
    const ctx = req.context;
    const connector = (req.body as { attachment: { connector: Record<string, unknown> } }).attachment.connector;
    return this.store.tx(() => {
      const a = this.attachment(ctx, req.path.id);
      const v = this.volume(ctx, a.volume_id);
      if (v.status.startsWith('error')) throw invalidVolume(`Volume ${v.id} status must not be in error to update an attachment.`);
      if (a.attach_status !== 'attached') this.connect(v, a, connector);
      else a.connector = connector;
      this.store.put(ATTACHMENT, a);
      this.syncAttachments(v);
      return out<'updateAttachment'>({ attachment: this.attachmentView(a, true) });
    });
  }

  async completeAttachment(req: VolumeRequest<'completeAttachment'>): Promise<VolumeResponse<'completeAttachment'>> {
    this.store.tx(() => {
      const a = this.attachment(req.context, req.path.id);
      const v = this.volume(req.context, a.volume_id);
      a.attach_status = 'attached';
      a.attached_at = isoNoZone();
      this.store.put(ATTACHMENT, a);
      this.syncAttachments(v);
    });
  }

  async deleteAttachment(req: VolumeRequest<'deleteAttachment'>): Promise<VolumeResponse<'deleteAttachment'>> {
    return this.store.tx(() => {
      const a = this.attachment(req.context, req.path.id);
      const v = this.volume(req.context, a.volume_id);
      this.store.delete(ATTACHMENT, a.id);
      this.syncAttachments(v);
      // Cinder answers the attachments still sharing this connection: none in the sandbox.
      return new Reply(out<'deleteAttachment'>({ attachments: [] }), 200) as unknown as VolumeResponse<'deleteAttachment'>;
    });
  }

  private selectAttachments(ctx: Ctx, q: Record<string, unknown>): AttachmentDoc[] {
    const scope = this.isAdmin(ctx) && q.all_tenants !== undefined ? null : this.cloud.project(ctx);
    let items = this.store.list<AttachmentDoc>(ATTACHMENT, { projectId: scope }).filter((a) => this.loadVolume(a.volume_id));
    if (q.volume_id !== undefined) items = items.filter((a) => a.volume_id === String(q.volume_id));
    if (q.instance_id !== undefined) items = items.filter((a) => a.instance_uuid === String(q.instance_id));
    if (q.status !== undefined || q.attach_status !== undefined) items = items.filter((a) => a.attach_status === String(q.status ?? q.attach_status));
    return items.reverse();
  }

  async listAttachments(req: VolumeRequest<'listAttachments'>): Promise<VolumeResponse<'listAttachments'>> {
    const q = this.query(req);
    return out<'listAttachments'>(this.listing(req.context, q, this.selectAttachments(req.context, q), 'attachments', (a) => this.attachmentView(a, false)));
  }

  async listAttachmentsDetail(req: VolumeRequest<'listAttachmentsDetail'>): Promise<VolumeResponse<'listAttachmentsDetail'>> {
    const q = this.query(req);
    return out<'listAttachmentsDetail'>(this.listing(req.context, q, this.selectAttachments(req.context, q), 'attachments', (a) => this.attachmentView(a, true)));
  }

  async showAttachment(req: VolumeRequest<'showAttachment'>): Promise<VolumeResponse<'showAttachment'>> {
    return out<'showAttachment'>({ attachment: this.attachmentView(this.attachment(req.context, req.path.id), true) });
  }

  // ---- snapshots ---------------------------------------------------------------------

  async createSnapshot(req: VolumeRequest<'createSnapshot'>): Promise<VolumeResponse<'createSnapshot'>> {
    const ctx = req.context;
    const b = (req.body as { snapshot: { volume_id: string | null; name?: string | null; display_name?: string | null; description?: string | null; force?: boolean | string; metadata?: Record<string, string> | null } }).snapshot;
    // Cinder looks the volume up first: a missing id is VolumeNotFound.
    if (!b.volume_id) throw Fault.notFound('Volume None could not be found.');
    return this.store.tx(() => {
      const v = this.volume(ctx, b.volume_id!);
      const force = b.force === undefined ? undefined : bool(b.force, 'force');
      if (atLeast(ctx.microversion, '3.66') && force === false) {
        throw Fault.badRequest("Invalid input received: The 'force' flag is not supported at microversion 3.66 or later; leave it out or set it to true.");
      }
      const inUseOk = force === true || atLeast(ctx.microversion, '3.66');
      if (v.status !== 'available' && !(inUseOk && v.status === 'in-use')) {
        throw invalidVolume(`Volume ${v.id} status must be available${inUseOk ? ' or in-use' : ''}, but current status is: ${v.status}.`);
      }
      const projectId = v.project_id!;
      this.checkQuota(projectId, { snapshots: 1, gigabytes: v.size });
      const now = Date.now();
      const delay = this.cloud.options.buildDelayMs;
      const s: SnapshotDoc = {
        id: this.store.newId(), project_id: projectId, name: b.name ?? b.display_name ?? null, description: b.description ?? null,
        volume_id: v.id, size: v.size, user_id: ctx.auth!.userId, metadata: checkMetadata(b.metadata), progress: '',
        status: delay > 0 ? 'creating' : 'available', ready_at: delay > 0 ? now + delay : null, next_status: delay > 0 ? 'available' : null,
        created_at: isoNoZone(now), updated_at: isoNoZone(now),
      };
      this.store.insert(SNAPSHOT, s);
      return new Reply(out<'createSnapshot'>({ snapshot: this.snapshotView(ctx, s, 'detail') }), 202) as unknown as VolumeResponse<'createSnapshot'>;
    });
  }

  private selectSnapshots(ctx: Ctx, q: Record<string, unknown>): SnapshotDoc[] {
    let items = this.snapshots(this.cloud.listScope(ctx, q));
    if (q.name !== undefined) items = items.filter((s) => s.name === String(q.name));
    if (q.status !== undefined) items = items.filter((s) => s.status === String(q.status));
    if (q.volume_id !== undefined) items = items.filter((s) => s.volume_id === String(q.volume_id));
    if (q.metadata !== undefined) {
      const md = this.parseMetadataFilter(q.metadata);
      items = items.filter((s) => Object.entries(md).every(([k, val]) => s.metadata[k] === String(val)));
    }
    const keys = this.sortParams(q);
    const valid = ['id', 'name', 'display_name', 'size', 'status', 'created_at', 'updated_at', 'volume_id', 'project_id', 'user_id'];
    for (const k of keys) if (!valid.includes(k.key)) throw invalidInput(`Invalid sort key: ${k.key}`);
    return this.sortBy(items, keys, (s, k) => (k === 'name' || k === 'display_name' ? s.name : (s as unknown as Record<string, unknown>)[k]));
  }

  async listSnapshots(req: VolumeRequest<'listSnapshots'>): Promise<VolumeResponse<'listSnapshots'>> {
    const q = this.query(req);
    return out<'listSnapshots'>(this.listing(req.context, q, this.selectSnapshots(req.context, q), 'snapshots', (s) => this.snapshotView(req.context, s, 'summary')));
  }

  async listSnapshotsDetail(req: VolumeRequest<'listSnapshotsDetail'>): Promise<VolumeResponse<'listSnapshotsDetail'>> {
    const q = this.query(req);
    return out<'listSnapshotsDetail'>(this.listing(req.context, q, this.selectSnapshots(req.context, q), 'snapshots', (s) => this.snapshotView(req.context, s, 'extended')));
  }

  async showSnapshot(req: VolumeRequest<'showSnapshot'>): Promise<VolumeResponse<'showSnapshot'>> {
    return out<'showSnapshot'>({ snapshot: this.snapshotView(req.context, this.snapshot(req.context, req.path.id), 'extended') });
  }

  async updateSnapshot(req: VolumeRequest<'updateSnapshot'>): Promise<VolumeResponse<'updateSnapshot'>> {
    const b = ((req.body ?? {}) as { snapshot?: Record<string, unknown> }).snapshot ?? {};
    return this.store.tx(() => {
      const s = this.snapshot(req.context, req.path.id);
      if ('name' in b || 'display_name' in b) s.name = (b.name ?? b.display_name ?? null) as string | null;
      if ('description' in b || 'display_description' in b) s.description = (b.description ?? b.display_description ?? null) as string | null;
      s.updated_at = isoNoZone();
      this.store.put(SNAPSHOT, s, false);
      return out<'updateSnapshot'>({ snapshot: this.snapshotView(req.context, s, 'detail') });
    });
  }

  async deleteSnapshot(req: VolumeRequest<'deleteSnapshot'>): Promise<VolumeResponse<'deleteSnapshot'>> {
    this.store.tx(() => {
      const s = this.snapshot(req.context, req.path.id);
      if (!['available', 'error'].includes(s.status)) throw Fault.badRequest('Invalid snapshot: Volume Snapshot status must be available or error and must not be part of a group.');
      this.markDeleting(SNAPSHOT, s);
    });
  }

  async resetStatusSnapshot(req: VolumeRequest<'resetStatusSnapshot'>): Promise<VolumeResponse<'resetStatusSnapshot'>> {
    const status = (req.body['os-reset_status'] as { status?: string }).status;
    if (!status || !['available', 'error', 'creating', 'deleting', 'error_deleting'].includes(status)) throw Fault.badRequest('Must specify a valid status');
    this.store.tx(() => {
      const s = this.snapshot(req.context, req.path.id);
      Object.assign(s, { status, ready_at: null, next_status: null, updated_at: isoNoZone() });
      this.store.put(SNAPSHOT, s, false);
    });
  }

  async forceDeleteSnapshot(req: VolumeRequest<'forceDeleteSnapshot'>): Promise<VolumeResponse<'forceDeleteSnapshot'>> {
    this.store.tx(() => this.markDeleting(SNAPSHOT, this.snapshot(req.context, req.path.id)));
  }

  async updateSnapshotStatusSnapshot(req: VolumeRequest<'updateSnapshotStatusSnapshot'>): Promise<VolumeResponse<'updateSnapshotStatusSnapshot'>> {
    const b = req.body['os-update_snapshot_status'] as { status: string; progress?: string };
    // Cinder's snapshot_actions: the status moves only along these edges.
    const allowed: Record<string, string[]> = { creating: ['creating', 'available', 'error'], deleting: ['deleting', 'error_deleting'] };
    this.store.tx(() => {
      const s = this.snapshot(req.context, req.path.id);
      if (!(allowed[s.status] ?? []).includes(b.status)) throw Fault.badRequest(`Provided snapshot status ${b.status} not allowed for snapshot with status ${s.status}.`);
      Object.assign(s, { status: b.status, ready_at: null, next_status: null, updated_at: isoNoZone() });
      if (b.progress !== undefined) s.progress = String(b.progress);
      this.store.put(SNAPSHOT, s, false);
    });
    // Cinder answers 202 without a body (the spec lists an object).
    return new Reply(undefined, 202) as unknown as VolumeResponse<'updateSnapshotStatusSnapshot'>;
  }

  async listSnapshotMetadata(req: VolumeRequest<'listSnapshotMetadata'>): Promise<VolumeResponse<'listSnapshotMetadata'>> {
    return out<'listSnapshotMetadata'>({ metadata: this.snapshot(req.context, req.path.snapshot_id).metadata });
  }

  async createSnapshotMetadata(req: VolumeRequest<'createSnapshotMetadata'>): Promise<VolumeResponse<'createSnapshotMetadata'>> {
    const md = checkMetadata((req.body as { metadata?: unknown }).metadata);
    return this.store.tx(() => {
      const s = this.snapshot(req.context, req.path.snapshot_id);
      s.metadata = { ...s.metadata, ...md };
      this.store.put(SNAPSHOT, s, false);
      return out<'createSnapshotMetadata'>({ metadata: s.metadata });
    });
  }

  async replaceSnapshotMetadata(req: VolumeRequest<'replaceSnapshotMetadata'>): Promise<VolumeResponse<'replaceSnapshotMetadata'>> {
    const md = checkMetadata((req.body as { metadata?: unknown }).metadata);
    return this.store.tx(() => {
      const s = this.snapshot(req.context, req.path.snapshot_id);
      s.metadata = md;
      this.store.put(SNAPSHOT, s, false);
      return out<'replaceSnapshotMetadata'>({ metadata: s.metadata });
    });
  }

  async showSnapshotMetadata(req: VolumeRequest<'showSnapshotMetadata'>): Promise<VolumeResponse<'showSnapshotMetadata'>> {
    const s = this.snapshot(req.context, req.path.snapshot_id);
    const value = s.metadata[req.path.id];
    if (value === undefined) throw Fault.notFound(`Snapshot ${s.id} has no metadata with key ${req.path.id}.`);
    return out<'showSnapshotMetadata'>({ meta: { [req.path.id]: value } });
  }

  async updateSnapshotMetadata(req: VolumeRequest<'updateSnapshotMetadata'>): Promise<VolumeResponse<'updateSnapshotMetadata'>> {
    const meta = checkMetadata((req.body as { meta?: unknown }).meta);
    if (Object.keys(meta).length !== 1) throw Fault.badRequest('Request body contains too many items.');
    if (!(req.path.id in meta)) throw Fault.badRequest('Request body and URI mismatch');
    return this.store.tx(() => {
      const s = this.snapshot(req.context, req.path.snapshot_id);
      s.metadata = { ...s.metadata, ...meta };
      this.store.put(SNAPSHOT, s, false);
      return out<'updateSnapshotMetadata'>({ meta });
    });
  }

  async deleteSnapshotMetadata(req: VolumeRequest<'deleteSnapshotMetadata'>): Promise<VolumeResponse<'deleteSnapshotMetadata'>> {
    this.store.tx(() => {
      const s = this.snapshot(req.context, req.path.snapshot_id);
      if (!(req.path.id in s.metadata)) throw Fault.notFound(`Snapshot ${s.id} has no metadata with key ${req.path.id}.`);
      delete s.metadata[req.path.id];
      this.store.put(SNAPSHOT, s, false);
    });
  }

  // ---- backups ------------------------------------------------------------------------

  private backups(projectId: string | null): BackupDoc[] {
    const now = Date.now();
    const live: BackupDoc[] = [];
    for (const b of this.store.list<BackupDoc>(BACKUP, { projectId })) {
      if (settle(b, now)) this.store.delete(BACKUP, b.id);
      else live.push(b);
    }
    return live;
  }

  private backup(ctx: Ctx, id: string): BackupDoc {
    const b = this.store.get<BackupDoc>(BACKUP, id);
    if (b && settle(b)) { this.store.delete(BACKUP, b.id); throw Fault.notFound(`Backup ${id} could not be found.`); }
    if (!b || (b.project_id !== this.cloud.project(ctx) && !this.isAdmin(ctx))) throw Fault.notFound(`Backup ${id} could not be found.`);
    return b;
  }

  private backupSummary(ctx: Ctx, b: BackupDoc) {
    return { id: b.id, name: b.name, links: this.links(ctx, 'backups', b.project_id, b.id) };
  }

  /** Cinder's backup detail view; the project attribute is the os-backup-project-attr extension (admin). */
  private backupDetail(ctx: Ctx, b: BackupDoc): Record<string, unknown> {
    const mv = ctx.microversion;
    const hasDependents = this.backups(b.project_id).some((x) => x.is_incremental && x.volume_id === b.volume_id && x.id !== b.id && x.created_at > b.created_at);
    const view: Record<string, unknown> = {
      id: b.id, status: b.status, size: b.size, object_count: 0, availability_zone: AZ, container: b.container,
      created_at: b.created_at, updated_at: b.updated_at, name: b.name, description: b.description, fail_reason: null,
      volume_id: b.volume_id, links: this.links(ctx, 'backups', b.project_id, b.id), is_incremental: b.is_incremental,
      has_dependent_backups: hasDependents, snapshot_id: b.snapshot_id, data_timestamp: b.data_timestamp,
    };
    if (this.isAdmin(ctx)) view['os-backup-project-attr:project_id'] = b.project_id;
    if (atLeast(mv, '3.43')) view.metadata = b.metadata;
    if (atLeast(mv, '3.56')) view.user_id = b.user_id;
    return view;
  }

  /** A volume busy for the build delay (backing-up, restoring-backup), then back to `after`. */
  private busy(v: VolumeDoc, status: string, after: string): void {
    const delay = this.cloud.options.buildDelayMs;
    if (delay > 0) Object.assign(v, { previous_status: v.status, status, next_status: after, ready_at: Date.now() + delay });
    else v.status = after;
    v.updated_at = isoNoZone();
    this.store.put(VOLUME, v, false);
  }

  async createBackup(req: VolumeRequest<'createBackup'>): Promise<VolumeResponse<'createBackup'>> {
    const ctx = req.context;
    const b = (req.body as { backup: { volume_id: string; name?: string | null; description?: string | null; container?: string | null; incremental?: boolean | string; force?: boolean | string; snapshot_id?: string | null; metadata?: Record<string, string> } }).backup;
    return this.store.tx(() => {
      const v = this.volume(ctx, b.volume_id);
      const force = b.force !== undefined && bool(b.force, 'force');
      const incremental = b.incremental !== undefined && bool(b.incremental, 'incremental');
      let snapshotId: string | null = null;
      if (b.snapshot_id) {
        const snap = this.snapshot(ctx, b.snapshot_id);
        if (snap.volume_id !== v.id) throw invalidInput('Snapshot does not belong to the volume.');
        if (snap.status !== 'available') throw Fault.badRequest(`Invalid snapshot: Snapshot to be backed up must be available, but the current status is "${snap.status}".`);
        snapshotId = snap.id;
      } else if (v.status === 'in-use' && !force) {
        throw invalidVolume('Backing up an in-use volume must use the force flag.');
      } else if (v.status !== 'available' && v.status !== 'in-use') {
        throw invalidVolume(`Volume to be backed up must be available or in-use, but the current status is "${v.status}".`);
      }
      const projectId = v.project_id!;
      if (incremental && !this.backups(projectId).some((x) => x.volume_id === v.id && x.status === 'available')) {
        throw invalidInput('No backups available to do an incremental backup.');
      }
      const limits = this.quotaLimits(projectId);
      const use = this.usage(projectId);
      if (limits.backups! >= 0 && use.backups! + 1 > limits.backups!) throw overLimit(`BackupLimitExceeded: Maximum number of backups allowed (${limits.backups}) exceeded`);
      if (limits.backup_gigabytes! >= 0 && use.backup_gigabytes! + v.size > limits.backup_gigabytes!) {
        throw overLimit(`VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup gigabytes quota. Requested ${v.size}G, quota is ${limits.backup_gigabytes}G and ${use.backup_gigabytes}G has been consumed.`);
      }
      const now = Date.now();
      const delay = this.cloud.options.buildDelayMs;
      const backup: BackupDoc = {
        id: this.store.newId(), project_id: projectId, name: b.name ?? null, description: b.description ?? null, volume_id: v.id,
        snapshot_id: snapshotId, size: v.size, container: b.container ?? 'volumebackups', is_incremental: incremental,
        user_id: ctx.auth!.userId, data_timestamp: isoNoZone(now), metadata: checkMetadata(b.metadata), volume_metadata: { ...v.metadata },
        status: delay > 0 ? 'creating' : 'available', ready_at: delay > 0 ? now + delay : null, next_status: delay > 0 ? 'available' : null,
        created_at: isoNoZone(now), updated_at: isoNoZone(now),
      };
      this.store.insert(BACKUP, backup);
      if (!snapshotId) this.busy(v, 'backing-up', v.status);
      return new Reply(out<'createBackup'>({ backup: this.backupSummary(ctx, backup) }), 202) as unknown as VolumeResponse<'createBackup'>;
    });
  }

  async listBackups(req: VolumeRequest<'listBackups'>): Promise<VolumeResponse<'listBackups'>> {
    const q = this.query(req);
    const items = this.selectBackups(req.context, q);
    return out<'listBackups'>(this.listing(req.context, q, items, 'backups', (b) => this.backupSummary(req.context, b)));
  }

  async listBackupsDetail(req: VolumeRequest<'listBackupsDetail'>): Promise<VolumeResponse<'listBackupsDetail'>> {
    const q = this.query(req);
    const items = this.selectBackups(req.context, q);
    return out<'listBackupsDetail'>(this.listing(req.context, q, items, 'backups', (b) => this.backupDetail(req.context, b)));
  }

  private selectBackups(ctx: Ctx, q: Record<string, unknown>): BackupDoc[] {
    let items = this.backups(this.cloud.listScope(ctx, q));
    if (q.name !== undefined) items = items.filter((b) => b.name === String(q.name));
    if (q.status !== undefined) items = items.filter((b) => b.status === String(q.status));
    if (q.volume_id !== undefined) items = items.filter((b) => b.volume_id === String(q.volume_id));
    return this.sortBy(items, this.sortParams(q), (b, k) => (k === 'display_name' ? b.name : (b as unknown as Record<string, unknown>)[k]));
  }

  async showBackup(req: VolumeRequest<'showBackup'>): Promise<VolumeResponse<'showBackup'>> {
    return out<'showBackup'>({ backup: this.backupDetail(req.context, this.backup(req.context, req.path.id)) });
  }

  async updateBackup(req: VolumeRequest<'updateBackup'>): Promise<VolumeResponse<'updateBackup'>> {
    const body = ((req.body ?? {}) as { backup?: Record<string, unknown> }).backup ?? {};
    return this.store.tx(() => {
      const b = this.backup(req.context, req.path.id);
      if ('name' in body) b.name = (body.name ?? null) as string | null;
      if ('description' in body) b.description = (body.description ?? null) as string | null;
      if ('metadata' in body) b.metadata = checkMetadata(body.metadata);
      b.updated_at = isoNoZone();
      this.store.put(BACKUP, b, false);
      return out<'updateBackup'>({ backup: this.backupSummary(req.context, b) });
    });
  }

  private deleteBackupChecked(b: BackupDoc, force: boolean): void {
    if (!force && !['available', 'error'].includes(b.status)) throw Fault.badRequest('Invalid backup: Backup status must be available or error');
    if (this.backups(b.project_id).some((x) => x.is_incremental && x.volume_id === b.volume_id && x.id !== b.id && x.created_at > b.created_at)) {
      throw Fault.badRequest('Invalid backup: Incremental backups exist for this backup.');
    }
    this.markDeleting(BACKUP, b);
  }

  async deleteBackup(req: VolumeRequest<'deleteBackup'>): Promise<VolumeResponse<'deleteBackup'>> {
    this.store.tx(() => this.deleteBackupChecked(this.backup(req.context, req.path.id), false));
  }

  async forceDeleteBackup(req: VolumeRequest<'forceDeleteBackup'>): Promise<VolumeResponse<'forceDeleteBackup'>> {
    this.store.tx(() => this.deleteBackupChecked(this.backup(req.context, req.path.id), true));
  }

  async resetStatusBackup(req: VolumeRequest<'resetStatusBackup'>): Promise<VolumeResponse<'resetStatusBackup'>> {
    const status = (req.body['os-reset_status'] as { status: string }).status;
    if (!['available', 'error'].includes(status)) throw Fault.badRequest(`Invalid backup: Backup status ${status} is not valid; available or error.`);
    this.store.tx(() => {
      const b = this.backup(req.context, req.path.id);
      Object.assign(b, { status, ready_at: null, next_status: null, updated_at: isoNoZone() });
      this.store.put(BACKUP, b, false);
    });
  }

  /** Restores into a new volume (restore_backup_<id>) or an available one at least as large. */
  async createBackupRestore(req: VolumeRequest<'createBackupRestore'>): Promise<VolumeResponse<'createBackupRestore'>> {
    const ctx = req.context;
    const body = ((req.body ?? {}) as { restore?: { volume_id?: string | null; name?: string | null } | null }).restore ?? {};
    return this.store.tx(() => {
      const b = this.backup(ctx, req.path.id);
      if (b.status !== 'available') throw Fault.badRequest(`Invalid backup: Backup status must be available`);
      let v: VolumeDoc;
      if (body.volume_id) {
        v = this.volume(ctx, body.volume_id);
        if (v.status !== 'available') throw invalidVolume(`Volume to be restored to must be available`);
        if (v.size < b.size) throw invalidVolume(`volume size ${v.size} is too small to restore backup of size ${b.size}.`);
      } else {
        const projectId = this.cloud.project(ctx);
        this.checkQuota(projectId, { volumes: 1, gigabytes: b.size, perVolume: b.size });
        v = this.newVolume(projectId, ctx.auth!.userId, { size: b.size, name: body.name ?? `restore_backup_${b.id}`, description: null, type: this.defaultType(), metadata: {}, readyNow: true });
        this.store.insert(VOLUME, v);
      }
      v.metadata = { ...v.metadata, ...(b.volume_metadata ?? {}) };
      this.busy(v, 'restoring-backup', 'available');
      return new Reply(out<'createBackupRestore'>({ restore: { backup_id: b.id, volume_id: v.id, volume_name: v.name ?? '' } }), 202) as unknown as VolumeResponse<'createBackupRestore'>;
    });
  }

  async listBackupExportRecord(req: VolumeRequest<'listBackupExportRecord'>): Promise<VolumeResponse<'listBackupExportRecord'>> {
    const b = this.backup(req.context, req.path.id);
    if (b.status !== 'available') throw Fault.badRequest('Invalid backup: Backup status must be available and not restoring.');
    const { ready_at: _r, next_status: _n, ...record } = b;
    return out<'listBackupExportRecord'>({ 'backup-record': { backup_service: 'cinder.backup.drivers.sandbox', backup_url: Buffer.from(JSON.stringify(record)).toString('base64') } });
  }

  async createBackupImportRecord(req: VolumeRequest<'createBackupImportRecord'>): Promise<VolumeResponse<'createBackupImportRecord'>> {
    const ctx = req.context;
    const rec = (req.body as { 'backup-record': { backup_service: string; backup_url: string } })['backup-record'];
    if (rec.backup_service !== 'cinder.backup.drivers.sandbox') throw Fault.badRequest(`Invalid backup: Import record failed, cannot find backup service to perform the import. Request service ${rec.backup_service}.`);
    let data: BackupDoc;
    try { data = JSON.parse(Buffer.from(rec.backup_url, 'base64').toString('utf8')) as BackupDoc; } catch { throw Fault.badRequest('Invalid input received: Can\'t parse backup record.'); }
    if (typeof data?.id !== 'string' || typeof data.size !== 'number') throw Fault.badRequest('Invalid input received: Can\'t parse backup record.');
    return this.store.tx(() => {
      const existing = this.store.get<BackupDoc>(BACKUP, data.id);
      if (existing && !settle(existing)) throw Fault.badRequest('Invalid backup: Backup already exists in database.');
      if (existing) this.store.delete(BACKUP, existing.id);
      const now = isoNoZone();
      const b: BackupDoc = { ...data, project_id: this.cloud.project(ctx), status: 'available', ready_at: null, next_status: null, updated_at: now };
      this.store.insert(BACKUP, b);
      return new Reply(out<'createBackupImportRecord'>({ backup: this.backupSummary(ctx, b) }), 201) as unknown as VolumeResponse<'createBackupImportRecord'>;
    });
  }

  // ---- volume transfers (os-volume-transfer) ------------------------------------------

  private transfer(ctx: Ctx, id: string, forAccept = false): TransferDoc {
    const t = this.store.get<TransferDoc>(TRANSFER, id);
    // Any project may accept a transfer it knows the id and key of; only the owner sees it otherwise.
    if (!t || !this.loadVolume(t.volume_id) || (!forAccept && t.project_id !== this.cloud.project(ctx) && !this.isAdmin(ctx))) {
      throw Fault.notFound(`Transfer ${id} could not be found.`);
    }
    return t;
  }

  private transferView(ctx: Ctx, t: TransferDoc, detail: boolean): Record<string, unknown> {
    const view: Record<string, unknown> = { id: t.id, name: t.name, volume_id: t.volume_id, links: this.links(ctx, 'os-volume-transfer', t.project_id, t.id) };
    if (detail) view.created_at = t.created_at;
    return view;
  }

  async createOsVolumeTransfer(req: VolumeRequest<'createOsVolumeTransfer'>): Promise<VolumeResponse<'createOsVolumeTransfer'>> {
    const ctx = req.context;
    const b = (req.body as { transfer: { volume_id: string; name?: string | null } }).transfer;
    return this.store.tx(() => {
      const v = this.volume(ctx, b.volume_id);
      if (v.status !== 'available') throw invalidVolume(`status must be available`);
      const key = randomBytes(8).toString('hex');
      const now = isoNoZone();
      const t = this.store.insert<TransferDoc>(TRANSFER, {
        id: this.store.newId(), project_id: v.project_id, name: b.name ?? null, volume_id: v.id,
        auth_key_hash: createHash('sha256').update(key).digest('hex'), created_at: now, updated_at: now,
      });
      Object.assign(v, { status: 'awaiting-transfer', updated_at: now });
      this.store.put(VOLUME, v, false);
      return new Reply(out<'createOsVolumeTransfer'>({ transfer: { ...this.transferView(ctx, t, true), auth_key: key } }), 202) as unknown as VolumeResponse<'createOsVolumeTransfer'>;
    });
  }

  private selectTransfers(ctx: Ctx, q: Record<string, unknown>): TransferDoc[] {
    const scope = this.cloud.listScope(ctx, q);
    return this.store.list<TransferDoc>(TRANSFER, { projectId: scope }).filter((t) => this.loadVolume(t.volume_id)).reverse();
  }

  async listOsVolumeTransfers(req: VolumeRequest<'listOsVolumeTransfers'>): Promise<VolumeResponse<'listOsVolumeTransfers'>> {
    const q = this.query(req);
    return out<'listOsVolumeTransfers'>(this.listing(req.context, q, this.selectTransfers(req.context, q), 'transfers', (t) => this.transferView(req.context, t, false)));
  }

  async listOsVolumeTransfersDetail(req: VolumeRequest<'listOsVolumeTransfersDetail'>): Promise<VolumeResponse<'listOsVolumeTransfersDetail'>> {
    const q = this.query(req);
    return out<'listOsVolumeTransfersDetail'>(this.listing(req.context, q, this.selectTransfers(req.context, q), 'transfers', (t) => this.transferView(req.context, t, true)));
  }

  async showOsVolumeTransfer(req: VolumeRequest<'showOsVolumeTransfer'>): Promise<VolumeResponse<'showOsVolumeTransfer'>> {
    return out<'showOsVolumeTransfer'>({ transfer: this.transferView(req.context, this.transfer(req.context, req.path.id), true) });
  }

  async deleteOsVolumeTransfer(req: VolumeRequest<'deleteOsVolumeTransfer'>): Promise<VolumeResponse<'deleteOsVolumeTransfer'>> {
    this.store.tx(() => {
      const t = this.transfer(req.context, req.path.id);
      const v = this.loadVolume(t.volume_id)!;
      this.store.delete(TRANSFER, t.id);
      if (v.status === 'awaiting-transfer') { Object.assign(v, { status: 'available', updated_at: isoNoZone() }); this.store.put(VOLUME, v, false); }
    });
  }

  /** Accepting moves the volume and its snapshots to the caller's project, within its quota. */
  async acceptOsVolumeTransfer(req: VolumeRequest<'acceptOsVolumeTransfer'>): Promise<VolumeResponse<'acceptOsVolumeTransfer'>> {
    const ctx = req.context;
    const key = (req.body as { accept: { auth_key: string } }).accept.auth_key;
    const mine = this.cloud.project(ctx);
    return this.store.tx(() => {
      const t = this.transfer(ctx, req.path.id, true);
      if (createHash('sha256').update(String(key)).digest('hex') !== t.auth_key_hash) {
        throw Fault.badRequest(`Invalid auth key: Attempt to transfer ${t.id} with invalid auth key.`);
      }
      const v = this.loadVolume(t.volume_id)!;
      const snaps = this.snapshots(v.project_id).filter((x) => x.volume_id === v.id);
      this.checkQuota(mine, { volumes: 1, snapshots: snaps.length, gigabytes: v.size + snaps.reduce((n, x) => n + x.size, 0), perVolume: v.size });
      Object.assign(v, { project_id: mine, user_id: ctx.auth!.userId, status: 'available', updated_at: isoNoZone() });
      this.store.put(VOLUME, v, false);
      for (const x of snaps) { Object.assign(x, { project_id: mine, user_id: ctx.auth!.userId }); this.store.put(SNAPSHOT, x, false); }
      this.store.delete(TRANSFER, t.id);
      return new Reply(out<'acceptOsVolumeTransfer'>({ transfer: this.transferView(ctx, { ...t, project_id: mine }, false) }), 202) as unknown as VolumeResponse<'acceptOsVolumeTransfer'>;
    });
  }

  // ---- volume types ----------------------------------------------------------------

  async listTypes(req: VolumeRequest<'listTypes'>): Promise<VolumeResponse<'listTypes'>> {
    const ctx = req.context;
    const q = this.query(req);
    const mine = this.cloud.project(ctx);
    let isPublic: boolean | null = true;
    if (this.isAdmin(ctx) && q.is_public !== undefined) isPublic = String(q.is_public).toLowerCase() === 'none' ? null : bool(q.is_public, 'is_public');
    const items = this.types().filter((t) => (isPublic === null ? this.typeVisible(ctx, t)
      : isPublic ? t.is_public || t.access.includes(mine) : !t.is_public && (this.isAdmin(ctx) || t.access.includes(mine))));
    const sorted = this.sortBy(items, this.sortParams(q), (t, k) => (t as unknown as Record<string, unknown>)[k]);
    return out<'listTypes'>(this.listing(ctx, q, sorted, 'volume_types', (t) => this.typeView(ctx, t)));
  }

  // ---- generic volume groups (3.13+) and group types (3.11+) ---------------------

  /*
   * The sandbox serves no way to make a group type or a group (those creates
   * answer 501), so none exist: the lists are empty, as a Cinder without any
   * answers them (Horizon's volume groups panel reads `{"groups": []}`), and a
   * show is Cinder's 404. Paging and sort parameters are checked as for any list.
   */

  async listGroups(req: VolumeRequest<'listGroups'>): Promise<VolumeResponse<'listGroups'>> {
    const q = this.query(req);
    this.sortParams(q);
    return out<'listGroups'>(this.listing(req.context, q, [] as { id: string }[], 'groups', (g) => g));
  }

  async listGroupsDetail(req: VolumeRequest<'listGroupsDetail'>): Promise<VolumeResponse<'listGroupsDetail'>> {
    const q = this.query(req);
    this.sortParams(q);
    return out<'listGroupsDetail'>(this.listing(req.context, q, [] as { id: string }[], 'groups', (g) => g));
  }

  async showGroup(req: VolumeRequest<'showGroup'>): Promise<VolumeResponse<'showGroup'>> {
    throw Fault.notFound(`Group ${req.path.id} could not be found.`);
  }

  async listGroupTypes(req: VolumeRequest<'listGroupTypes'>): Promise<VolumeResponse<'listGroupTypes'>> {
    const q = this.query(req);
    this.sortParams(q);
    return out<'listGroupTypes'>(this.listing(req.context, q, [] as { id: string }[], 'group_types', (t) => t));
  }

  async showGroupType(req: VolumeRequest<'showGroupType'>): Promise<VolumeResponse<'showGroupType'>> {
    // `default` names the configured default group type; the sandbox has none.
    if (req.path.id === 'default') throw Fault.notFound('Default group type not found.');
    throw Fault.notFound(`Group type ${req.path.id} could not be found.`);
  }

  async showType(req: VolumeRequest<'showType'>): Promise<VolumeResponse<'showType'>> {
    const ctx = req.context;
    const t = req.path.id === 'default' ? this.defaultType() : this.typeById(ctx, req.path.id);
    return out<'showType'>({ volume_type: this.typeView(ctx, t) });
  }

  async createType(req: VolumeRequest<'createType'>): Promise<VolumeResponse<'createType'>> {
    const ctx = req.context;
    const b = (req.body as { volume_type: { name: string; description?: string | null; extra_specs?: Record<string, unknown>; 'os-volume-type-access:is_public'?: boolean | string } }).volume_type;
    const name = b.name.trim();
    if (!name) throw invalidInput('Volume type name can not be empty.');
    return this.store.tx(() => {
      if (this.types().some((t) => t.name === name)) throw Fault.conflict(`Volume Type ${name} already exists.`);
      const now = isoNoZone();
      const t = this.store.insert<TypeDoc>(VTYPE, {
        id: this.store.newId(), project_id: null, name, description: b.description ?? null,
        is_public: b['os-volume-type-access:is_public'] === undefined ? true : bool(b['os-volume-type-access:is_public'], 'is_public'),
        extra_specs: Object.fromEntries(Object.entries(b.extra_specs ?? {}).map(([k, v]) => [k, String(v)])),
        access: [], created_at: now, updated_at: now,
      });
      return new Reply(out<'createType'>({ volume_type: this.typeView(ctx, t) }), 200) as unknown as VolumeResponse<'createType'>;
    });
  }

  async updateType(req: VolumeRequest<'updateType'>): Promise<VolumeResponse<'updateType'>> {
    const ctx = req.context;
    const b = (req.body as { volume_type: { name?: string | null; description?: string | null; is_public?: boolean | string } }).volume_type;
    if (b.name === undefined && b.description === undefined && b.is_public === undefined) {
      throw Fault.badRequest('Specify volume type name, description, is_public or a combination thereof.');
    }
    return this.store.tx(() => {
      const t = this.typeById(ctx, req.path.id);
      if (b.name !== undefined && b.name !== null) {
        const name = b.name.trim();
        if (!name) throw invalidInput('Volume type name can not be empty.');
        if (t.name === DEFAULT_TYPE && name !== DEFAULT_TYPE) throw Fault.badRequest('The default volume type cannot be renamed.');
        if (this.types().some((x) => x.name === name && x.id !== t.id)) throw Fault.conflict(`Volume Type ${name} already exists.`);
        t.name = name;
      }
      if (b.description !== undefined) t.description = b.description;
      if (b.is_public !== undefined) t.is_public = bool(b.is_public, 'is_public');
      this.store.put(VTYPE, t);
      return out<'updateType'>({ volume_type: this.typeView(ctx, t, false) });
    });
  }

  async deleteType(req: VolumeRequest<'deleteType'>): Promise<VolumeResponse<'deleteType'>> {
    this.store.tx(() => {
      const t = this.typeById(req.context, req.path.id);
      if (t.name === DEFAULT_TYPE) throw Fault.badRequest('Default volume type can not be deleted.');
      if (this.volumes(null).some((v) => v.volume_type_id === t.id)) throw Fault.badRequest('Target volume type is still in use.');
      this.store.delete(VTYPE, t.id);
    });
  }

  // ---- QoS specs (admin) -------------------------------------------------------------

  private qos(id: string): QosDoc {
    const q = this.store.get<QosDoc>(QOS, id);
    if (!q) throw Fault.notFound(`QoS Specs ${id} could not be found.`);
    return q;
  }

  private qosView(q: QosDoc) {
    return { id: q.id, name: q.name, consumer: q.consumer, specs: q.specs };
  }

  private qosConsumer(raw: unknown): QosDoc['consumer'] {
    const c = String(raw);
    if (c !== 'front-end' && c !== 'back-end' && c !== 'both') throw invalidInput(`Invalid QoS specs: Consumer ${c} is not valid (front-end, back-end or both).`);
    return c;
  }

  async createQosSpec(req: VolumeRequest<'createQosSpec'>): Promise<VolumeResponse<'createQosSpec'>> {
    const ctx = req.context;
    const { name, consumer, ...rest } = (req.body as { qos_specs: Record<string, unknown> }).qos_specs;
    const n = String(name).trim();
    return this.store.tx(() => {
      if (this.store.list<QosDoc>(QOS, { where: (q) => q.name === n }).length) throw Fault.conflict(`QoS Specs ${n} already exists.`);
      const now = isoNoZone();
      const q = this.store.insert<QosDoc>(QOS, {
        id: this.store.newId(), project_id: null, name: n, consumer: consumer === undefined ? 'back-end' : this.qosConsumer(consumer),
        specs: Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)])), created_at: now, updated_at: now,
      });
      return new Reply(out<'createQosSpec'>({ qos_specs: this.qosView(q), links: this.links(ctx, 'qos-specs', this.cloud.project(ctx), q.id) }), 200) as unknown as VolumeResponse<'createQosSpec'>;
    });
  }

  async listQosSpecs(req: VolumeRequest<'listQosSpecs'>): Promise<VolumeResponse<'listQosSpecs'>> {
    const q = this.query(req);
    const items = this.sortBy(this.store.list<QosDoc>(QOS), this.sortParams(q), (x, k) => (x as unknown as Record<string, unknown>)[k]);
    return out<'listQosSpecs'>(this.listing(req.context, q, items, 'qos_specs', (x) => this.qosView(x)));
  }

  async showQosSpec(req: VolumeRequest<'showQosSpec'>): Promise<VolumeResponse<'showQosSpec'>> {
    const q = this.qos(req.path.id);
    return out<'showQosSpec'>({ qos_specs: this.qosView(q), links: this.links(req.context, 'qos-specs', this.cloud.project(req.context), q.id) });
  }

  /** PUT sets keys (consumer among them) and answers the keys set. */
  async updateQosSpec(req: VolumeRequest<'updateQosSpec'>): Promise<VolumeResponse<'updateQosSpec'>> {
    const body = (req.body as { qos_specs: Record<string, unknown> }).qos_specs;
    return this.store.tx(() => {
      const q = this.qos(req.path.id);
      const set: Record<string, string> = {};
      for (const [k, v] of Object.entries(body)) {
        if (k === 'consumer') q.consumer = this.qosConsumer(v);
        else q.specs[k] = String(v);
        set[k] = String(v);
      }
      this.store.put(QOS, q);
      return out<'updateQosSpec'>({ qos_specs: set });
    });
  }

  async replaceQosSpecDeleteKeys(req: VolumeRequest<'replaceQosSpecDeleteKeys'>): Promise<VolumeResponse<'replaceQosSpecDeleteKeys'>> {
    const keys = (req.body as { keys: string[] }).keys ?? [];
    this.store.tx(() => {
      const q = this.qos(req.path.id);
      for (const k of keys) {
        if (!(k in q.specs)) throw Fault.notFound(`QoS spec ${q.id} has no key ${k}.`);
        delete q.specs[k];
      }
      this.store.put(QOS, q);
    });
    return new Reply(undefined, 202) as unknown as VolumeResponse<'replaceQosSpecDeleteKeys'>;
  }

  private qosTypes(id: string): TypeDoc[] {
    return this.types().filter((t) => t.qos_specs_id === id);
  }

  async deleteQosSpec(req: VolumeRequest<'deleteQosSpec'>): Promise<VolumeResponse<'deleteQosSpec'>> {
    const q = this.query(req);
    const force = q.force !== undefined && bool(q.force, 'force');
    this.store.tx(() => {
      const spec = this.qos(req.path.id);
      const users = this.qosTypes(spec.id);
      if (users.length && !force) throw Fault.badRequest(`QoS Specs ${spec.id} is still associated with entities.`);
      for (const t of users) { t.qos_specs_id = null; this.store.put(VTYPE, t); }
      this.store.delete(QOS, spec.id);
    });
  }

  async listQosSpecAssociations(req: VolumeRequest<'listQosSpecAssociations'>): Promise<VolumeResponse<'listQosSpecAssociations'>> {
    const spec = this.qos(req.path.id);
    return out<'listQosSpecAssociations'>({ qos_associations: this.qosTypes(spec.id).map((t) => ({ association_type: 'volume_type', id: t.id, name: t.name })) });
  }

  private qosTypeArg(req: { query: unknown }): string {
    const id = (req.query as Record<string, unknown>).vol_type_id;
    if (id === undefined || id === '') throw Fault.badRequest('Volume Type id must not be None.');
    return String(id);
  }

  async listQosSpecAssociate(req: VolumeRequest<'listQosSpecAssociate'>): Promise<VolumeResponse<'listQosSpecAssociate'>> {
    const typeId = this.qosTypeArg(req);
    this.store.tx(() => {
      const spec = this.qos(req.path.id);
      const t = this.typeById(req.context, typeId);
      if (t.qos_specs_id && t.qos_specs_id !== spec.id) throw Fault.badRequest(`Volume type ${t.id} is already associated with another qos specs: ${t.qos_specs_id}`);
      t.qos_specs_id = spec.id;
      this.store.put(VTYPE, t);
    });
    return new Reply(undefined, 202) as unknown as VolumeResponse<'listQosSpecAssociate'>;
  }

  async listQosSpecDisassociate(req: VolumeRequest<'listQosSpecDisassociate'>): Promise<VolumeResponse<'listQosSpecDisassociate'>> {
    const typeId = this.qosTypeArg(req);
    this.store.tx(() => {
      const spec = this.qos(req.path.id);
      const t = this.typeById(req.context, typeId);
      if (t.qos_specs_id === spec.id) { t.qos_specs_id = null; this.store.put(VTYPE, t); }
    });
    return new Reply(undefined, 202) as unknown as VolumeResponse<'listQosSpecDisassociate'>;
  }

  async listQosSpecDisassociateAll(req: VolumeRequest<'listQosSpecDisassociateAll'>): Promise<VolumeResponse<'listQosSpecDisassociateAll'>> {
    this.store.tx(() => {
      const spec = this.qos(req.path.id);
      for (const t of this.qosTypes(spec.id)) { t.qos_specs_id = null; this.store.put(VTYPE, t); }
    });
    return new Reply(undefined, 202) as unknown as VolumeResponse<'listQosSpecDisassociateAll'>;
  }

  // ---- encryption types (admin) ----------------------------------------------------

  private encryptionInput(raw: Record<string, unknown>, partial: boolean): Partial<EncryptionSpec> {
    const outSpec: Partial<EncryptionSpec> = {};
    if (raw.provider !== undefined) outSpec.provider = String(raw.provider);
    if (raw.cipher !== undefined) outSpec.cipher = raw.cipher === null ? null : String(raw.cipher);
    if (raw.key_size !== undefined) {
      const n = raw.key_size === null ? null : Number(raw.key_size);
      if (n !== null && (!Number.isInteger(n) || n <= 0)) throw invalidInput('key_size must be a positive integer.');
      outSpec.key_size = n;
    }
    if (raw.control_location !== undefined) outSpec.control_location = raw.control_location === 'back-end' ? 'back-end' : 'front-end';
    if (!partial && (!outSpec.provider || !outSpec.control_location)) throw Fault.badRequest('provider and control_location are required.');
    return outSpec;
  }

  private encryptionView(t: TypeDoc, e: EncryptionSpec) {
    return { volume_type_id: t.id, encryption_id: e.encryption_id, provider: e.provider, cipher: e.cipher, key_size: e.key_size, control_location: e.control_location };
  }

  private typeInUse(t: TypeDoc): boolean {
    return this.volumes(null).some((v) => v.volume_type_id === t.id);
  }

  async createTypeEncryption(req: VolumeRequest<'createTypeEncryption'>): Promise<VolumeResponse<'createTypeEncryption'>> {
    const input = this.encryptionInput((req.body as { encryption: Record<string, unknown> }).encryption, false);
    return this.store.tx(() => {
      const t = this.typeById(req.context, req.path.type_id);
      if (t.encryption) throw Fault.badRequest(`Volume type encryption for type ${t.id} already exists.`);
      if (this.typeInUse(t)) throw Fault.badRequest('Cannot create encryption specs. Volume type in use.');
      const e: EncryptionSpec = { encryption_id: this.store.newId(), provider: input.provider!, cipher: input.cipher ?? null, key_size: input.key_size ?? null, control_location: input.control_location!, created_at: isoNoZone(), updated_at: null };
      t.encryption = e;
      this.store.put(VTYPE, t);
      return new Reply(out<'createTypeEncryption'>({ encryption: this.encryptionView(t, e) }), 200) as unknown as VolumeResponse<'createTypeEncryption'>;
    });
  }

  /** GET …/encryption: the spec with its record fields, or {} when the type has none. */
  async listTypeEncryption(req: VolumeRequest<'listTypeEncryption'>): Promise<VolumeResponse<'listTypeEncryption'>> {
    const t = this.typeById(req.context, req.path.type_id);
    const e = t.encryption;
    if (!e) return out<'listTypeEncryption'>({});
    return out<'listTypeEncryption'>({ ...this.encryptionView(t, e), deleted: false, created_at: e.created_at, updated_at: e.updated_at, deleted_at: null });
  }

  async showTypeEncryption(req: VolumeRequest<'showTypeEncryption'>): Promise<VolumeResponse<'showTypeEncryption'>> {
    const t = this.typeById(req.context, req.path.type_id);
    const e = t.encryption;
    const key = req.path.id as keyof ReturnType<SandboxVolume['encryptionView']>;
    const all = e ? (this.encryptionView(t, e) as Record<string, unknown>) : {};
    if (!e || !(key in all)) throw Fault.notFound(`Volume type encryption for type ${t.id} does not exist.`);
    return out<'showTypeEncryption'>({ [key]: all[key] });
  }

  async updateTypeEncryption(req: VolumeRequest<'updateTypeEncryption'>): Promise<VolumeResponse<'updateTypeEncryption'>> {
    const input = this.encryptionInput((req.body as { encryption: Record<string, unknown> }).encryption, true);
    return this.store.tx(() => {
      const t = this.typeById(req.context, req.path.type_id);
      if (!t.encryption) throw Fault.notFound(`Volume type encryption for type ${t.id} does not exist.`);
      if (this.typeInUse(t)) throw Fault.badRequest('Cannot update encryption specs. Volume type in use.');
      t.encryption = { ...t.encryption, ...input, updated_at: isoNoZone() };
      this.store.put(VTYPE, t);
      // Cinder echoes the fields it was given.
      return out<'updateTypeEncryption'>({ encryption: input });
    });
  }

  async deleteTypeEncryption(req: VolumeRequest<'deleteTypeEncryption'>): Promise<VolumeResponse<'deleteTypeEncryption'>> {
    this.store.tx(() => {
      const t = this.typeById(req.context, req.path.type_id);
      if (!t.encryption) throw Fault.notFound(`Volume type encryption for type ${t.id} does not exist.`);
      if (this.typeInUse(t)) throw Fault.badRequest('Cannot delete encryption specs. Volume type in use.');
      t.encryption = null;
      this.store.put(VTYPE, t);
    });
  }

  async listTypeExtraSpecs(req: VolumeRequest<'listTypeExtraSpecs'>): Promise<VolumeResponse<'listTypeExtraSpecs'>> {
    const t = this.typeById(req.context, req.path.type_id);
    return out<'listTypeExtraSpecs'>({ extra_specs: this.typeView(req.context, t).extra_specs });
  }

  async createTypeExtraSpec(req: VolumeRequest<'createTypeExtraSpec'>): Promise<VolumeResponse<'createTypeExtraSpec'>> {
    const specs = (req.body as { extra_specs: Record<string, unknown> }).extra_specs;
    for (const [k, v] of Object.entries(specs)) {
      if (!k || k.length > 255) throw invalidInput('Extra spec key is blank or longer than 255 characters.');
      if (typeof v === 'object' && v !== null) throw invalidInput(`Value for key '${k}' must be a string.`);
    }
    return this.store.tx(() => {
      const t = this.typeById(req.context, req.path.type_id);
      const added = Object.fromEntries(Object.entries(specs).map(([k, v]) => [k, String(v)]));
      t.extra_specs = { ...t.extra_specs, ...added };
      this.store.put(VTYPE, t);
      return new Reply(out<'createTypeExtraSpec'>({ extra_specs: added }), 200) as unknown as VolumeResponse<'createTypeExtraSpec'>;
    });
  }

  async showTypeExtraSpec(req: VolumeRequest<'showTypeExtraSpec'>): Promise<VolumeResponse<'showTypeExtraSpec'>> {
    const t = this.typeById(req.context, req.path.type_id);
    const value = t.extra_specs[req.path.id];
    if (value === undefined) throw Fault.notFound(`Volume Type ${t.id} has no extra specs with key ${req.path.id}.`);
    return out<'showTypeExtraSpec'>({ [req.path.id]: value });
  }

  async updateTypeExtraSpec(req: VolumeRequest<'updateTypeExtraSpec'>): Promise<VolumeResponse<'updateTypeExtraSpec'>> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!(req.path.id in body)) throw Fault.badRequest('Request body and URI mismatch');
    if (Object.keys(body).length > 1) throw Fault.badRequest('Request body contains too many items');
    return this.store.tx(() => {
      const t = this.typeById(req.context, req.path.type_id);
      t.extra_specs[req.path.id] = String(body[req.path.id]);
      this.store.put(VTYPE, t);
      return out<'updateTypeExtraSpec'>({ [req.path.id]: t.extra_specs[req.path.id] });
    });
  }

  async deleteTypeExtraSpec(req: VolumeRequest<'deleteTypeExtraSpec'>): Promise<VolumeResponse<'deleteTypeExtraSpec'>> {
    this.store.tx(() => {
      const t = this.typeById(req.context, req.path.type_id);
      if (!(req.path.id in t.extra_specs)) throw Fault.notFound(`Volume Type ${t.id} has no extra specs with key ${req.path.id}.`);
      delete t.extra_specs[req.path.id];
      this.store.put(VTYPE, t);
    });
  }

  async listTypeVolumeTypeAccess(req: VolumeRequest<'listTypeVolumeTypeAccess'>): Promise<VolumeResponse<'listTypeVolumeTypeAccess'>> {
    const t = this.typeById(req.context, req.path.type_id);
    if (t.is_public) throw Fault.notFound('Access list not available for public volume types.');
    return out<'listTypeVolumeTypeAccess'>({ volume_type_access: t.access.map((p) => ({ volume_type_id: t.id, project_id: p })) });
  }

  async addProjectAccessType(req: VolumeRequest<'addProjectAccessType'>): Promise<VolumeResponse<'addProjectAccessType'>> {
    const project = req.body.addProjectAccess.project;
    this.store.tx(() => {
      const t = this.typeById(req.context, req.path.id);
      if (t.is_public) throw Fault.badRequest('Invalid volume type: Type access modification is not applicable to public volume type.');
      if (t.access.includes(project)) throw Fault.conflict(`Volume type access for ${t.id} / ${project} combination already exists.`);
      t.access.push(project);
      this.store.put(VTYPE, t);
    });
    return new Reply(undefined, 202) as unknown as VolumeResponse<'addProjectAccessType'>;
  }

  async removeProjectAccessType(req: VolumeRequest<'removeProjectAccessType'>): Promise<VolumeResponse<'removeProjectAccessType'>> {
    const project = req.body.removeProjectAccess.project;
    this.store.tx(() => {
      const t = this.typeById(req.context, req.path.id);
      if (t.is_public) throw Fault.badRequest('Invalid volume type: Type access modification is not applicable to public volume type.');
      if (!t.access.includes(project)) throw Fault.notFound(`Volume type access not found for ${t.id} / ${project} combination.`);
      t.access = t.access.filter((p) => p !== project);
      this.store.put(VTYPE, t);
    });
    return new Reply(undefined, 202) as unknown as VolumeResponse<'removeProjectAccessType'>;
  }

  // ---- quotas, limits, zones --------------------------------------------------------

  private quotaTarget(ctx: Ctx, projectId: string): string {
    if (!this.isAdmin(ctx) && projectId !== this.cloud.project(ctx)) throw Fault.forbidden(`Policy doesn't allow volume_extension:quotas:show to be performed.`);
    return projectId;
  }

  async showQuotaSet(req: VolumeRequest<'showQuotaSet'>): Promise<VolumeResponse<'showQuotaSet'>> {
    const projectId = this.quotaTarget(req.context, req.path.project_id);
    const q = this.query(req);
    const limits = this.quotaLimits(projectId);
    const usage = q.usage !== undefined && bool(q.usage, 'usage');
    const use = usage ? this.usage(projectId) : {};
    const set: Record<string, unknown> = { id: projectId };
    for (const [k, v] of Object.entries(limits)) set[k] = usage ? { limit: v, in_use: use[k] ?? 0, reserved: 0, allocated: 0 } : v;
    return out<'showQuotaSet'>({ quota_set: set });
  }

  async listQuotaSetDefaults(req: VolumeRequest<'listQuotaSetDefaults'>): Promise<VolumeResponse<'listQuotaSetDefaults'>> {
    const projectId = this.quotaTarget(req.context, req.path.project_id);
    return out<'listQuotaSetDefaults'>({ quota_set: { id: projectId, ...this.classLimits('default') } });
  }

  async updateQuotaSet(req: VolumeRequest<'updateQuotaSet'>): Promise<VolumeResponse<'updateQuotaSet'>> {
    const projectId = req.path.project_id;
    const body = (req.body as { quota_set: Record<string, unknown> }).quota_set;
    return this.store.tx(() => {
      const current = this.quotaLimits(projectId);
      const next: Record<string, number> = {};
      for (const [k, raw] of Object.entries(body)) {
        if (k === 'tenant_id' || k === 'id') continue;
        if (!(k in current)) throw Fault.badRequest(`Bad key(s) in quota set: ${k}`);
        const n = typeof raw === 'number' ? raw : Number(raw);
        if (!Number.isInteger(n) || n < -1) throw invalidInput(`Quota limit ${String(raw)} for ${k} must be an integer greater than or equal to -1.`);
        const used = this.usage(projectId)[k] ?? 0;
        if (n !== -1 && n < used) throw Fault.badRequest(`Invalid input received: Quota ${k} limit must be equal or greater than existing resources. Current usage is ${used} and the requested limit is ${n}.`);
        next[k] = n;
      }
      const existing = this.store.get<QuotaDoc>(QUOTA, projectId);
      const now = isoNoZone();
      if (existing) { existing.limits = { ...existing.limits, ...next }; this.store.put(QUOTA, existing); }
      else this.store.insert<QuotaDoc>(QUOTA, { id: projectId, project_id: projectId, limits: next, created_at: now, updated_at: now });
      return out<'updateQuotaSet'>({ quota_set: this.quotaLimits(projectId) });
    });
  }

  async deleteQuotaSet(req: VolumeRequest<'deleteQuotaSet'>): Promise<VolumeResponse<'deleteQuotaSet'>> {
    this.store.tx(() => { this.store.delete(QUOTA, req.path.project_id); });
    return new Reply(undefined, 200) as unknown as VolumeResponse<'deleteQuotaSet'>;
  }

  async showQuotaClassSet(req: VolumeRequest<'showQuotaClassSet'>): Promise<VolumeResponse<'showQuotaClassSet'>> {
    this.cloud.project(req.context);
    return out<'showQuotaClassSet'>({ quota_class_set: { id: req.path.name, ...this.classLimits(req.path.name) } });
  }

  async updateQuotaClassSet(req: VolumeRequest<'updateQuotaClassSet'>): Promise<VolumeResponse<'updateQuotaClassSet'>> {
    const name = req.path.name;
    const body = (req.body as { quota_class_set: Record<string, unknown> }).quota_class_set;
    return this.store.tx(() => {
      const current = this.classLimits(name);
      const next: Record<string, number> = {};
      for (const [k, raw] of Object.entries(body)) {
        if (!(k in current)) continue; // Cinder ignores keys that are not quota resources here
        const n = typeof raw === 'number' ? raw : Number(raw);
        if (!Number.isInteger(n) || n < -1) throw invalidInput(`Quota limit ${String(raw)} for ${k} must be an integer greater than or equal to -1.`);
        next[k] = n;
      }
      const id = `class:${name}`;
      const existing = this.store.get<QuotaDoc>(QUOTA, id);
      const now = isoNoZone();
      if (existing) { existing.limits = { ...existing.limits, ...next }; this.store.put(QUOTA, existing); }
      else this.store.insert<QuotaDoc>(QUOTA, { id, project_id: null, limits: next, created_at: now, updated_at: now });
      return out<'updateQuotaClassSet'>({ quota_class_set: this.classLimits(name) });
    });
  }

  /** A service's switchable state (enable/disable, freeze), kept per host and binary. */
  private serviceState(host: string, binary: string): ServiceDoc {
    const id = `${host}|${binary}`;
    const now = isoNoZone();
    return this.store.get<ServiceDoc>(SERVICE, id) ?? { id, project_id: null, disabled: false, disabled_reason: null, frozen: false, created_at: now, updated_at: now };
  }

  private saveServiceState(doc: ServiceDoc): void {
    doc.updated_at = isoNoZone();
    if (this.store.get<ServiceDoc>(SERVICE, doc.id)) this.store.put(SERVICE, doc, false);
    else this.store.insert(SERVICE, doc);
  }

  /** Cinder's host filter: the host, or a backend or pool on it (host@…, host#…). */
  private hostMatches(serviceHost: string, host: string): boolean {
    return serviceHost === host || serviceHost.startsWith(`${host}@`) || serviceHost.startsWith(`${host}#`);
  }

  /** The sandbox's Cinder services: one scheduler, one volume backend (admin). */
  async listServices(req: VolumeRequest<'listServices'>): Promise<VolumeResponse<'listServices'>> {
    const q = this.query(req);
    const mv = req.context.microversion;
    let services = SERVICES.map(({ host, binary }) => {
      const st = this.serviceState(host, binary);
      const view: Record<string, unknown> = {
        binary, host, zone: AZ, status: st.disabled ? 'disabled' : 'enabled', state: 'up', updated_at: st.updated_at, disabled_reason: st.disabled_reason,
      };
      if (binary === 'cinder-volume') {
        Object.assign(view, { replication_status: 'disabled', active_backend_id: null, frozen: st.frozen });
        if (atLeast(mv, '3.49')) view.backend_state = 'up';
      }
      if (atLeast(mv, '3.7')) view.cluster = null;
      return view;
    });
    const host = q.host === undefined ? undefined : String(q.host);
    if (host) services = services.filter((x) => this.hostMatches(String(x.host), host));
    if (q.binary !== undefined) services = services.filter((x) => x.binary === String(q.binary));
    return out<'listServices'>({ services });
  }

  /** enable, disable, disable-log-reason: Cinder's services controller update. */
  private setService(body: { host?: string | null; binary?: string; service?: string; disabled_reason?: string }, disabled: boolean, withReason: boolean) {
    const binary = body.binary ?? body.service ?? '';
    const host = body.host ?? '';
    if (withReason && (typeof body.disabled_reason !== 'string' || !body.disabled_reason.trim())) throw Fault.badRequest('Disabled reason contains invalid characters or is too long');
    const svc = SERVICES.find((x) => x.host === host && x.binary === binary);
    if (!SERVICES.some((x) => x.host === host)) throw Fault.notFound(`Host ${host} could not be found.`);
    if (!svc) throw Fault.notFound(`Service ${binary} could not be found.`);
    return this.store.tx(() => {
      const st = this.serviceState(host, binary);
      st.disabled = disabled;
      st.disabled_reason = disabled && withReason ? body.disabled_reason! : null;
      this.saveServiceState(st);
      const view: Record<string, unknown> = { disabled, status: disabled ? 'disabled' : 'enabled', host, service: binary, binary };
      if (!disabled || withReason) view.disabled_reason = st.disabled_reason;
      return view;
    });
  }

  async replaceServiceEnable(req: VolumeRequest<'replaceServiceEnable'>): Promise<VolumeResponse<'replaceServiceEnable'>> {
    return out<'replaceServiceEnable'>(this.setService(req.body as { host?: string; binary?: string }, false, false));
  }

  async replaceServiceDisable(req: VolumeRequest<'replaceServiceDisable'>): Promise<VolumeResponse<'replaceServiceDisable'>> {
    return out<'replaceServiceDisable'>(this.setService(req.body as { host?: string; binary?: string }, true, false));
  }

  async replaceServiceDisableLogReason(req: VolumeRequest<'replaceServiceDisableLogReason'>): Promise<VolumeResponse<'replaceServiceDisableLogReason'>> {
    return out<'replaceServiceDisableLogReason'>(this.setService(req.body as { host?: string; binary?: string; disabled_reason?: string }, true, true));
  }

  /** freeze and thaw act on a volume backend host; another host is a 400 as in Cinder (InvalidInput). */
  private freeze(body: { host?: string | null }, frozen: boolean): void {
    const host = body.host ?? '';
    const svc = SERVICES.find((x) => x.binary === 'cinder-volume' && this.hostMatches(x.host, host));
    if (!svc) throw invalidInput(`No service found with host ${host}.`);
    this.store.tx(() => {
      const st = this.serviceState(svc.host, svc.binary);
      st.frozen = frozen;
      this.saveServiceState(st);
    });
  }

  async replaceServiceFreeze(req: VolumeRequest<'replaceServiceFreeze'>): Promise<VolumeResponse<'replaceServiceFreeze'>> {
    this.freeze(req.body as { host?: string | null }, true);
    return out<'replaceServiceFreeze'>(undefined);
  }

  async replaceServiceThaw(req: VolumeRequest<'replaceServiceThaw'>): Promise<VolumeResponse<'replaceServiceThaw'>> {
    this.freeze(req.body as { host?: string | null }, false);
    return out<'replaceServiceThaw'>(undefined);
  }

  /** A backend's capabilities (admin), as the volume driver reports them. */
  async showCapabilities(req: VolumeRequest<'showCapabilities'>): Promise<VolumeResponse<'showCapabilities'>> {
    const host = req.path.id;
    if (![HOST, 'sandbox@sandbox', 'sandbox'].includes(host)) throw Fault.notFound(`Service ${host} could not be found.`);
    return out<'showCapabilities'>({
      namespace: 'OS::Storage::Capabilities::sandbox@sandbox', vendor_name: 'Open Source', volume_backend_name: 'sandbox',
      pool_name: 'sandbox', driver_version: '1.0.0', storage_protocol: 'local', display_name: null, description: null,
      visibility: null, replication_targets: [],
      properties: {
        thin_provisioning: { title: 'Thin Provisioning', description: 'Sets thin provisioning.', type: 'boolean' },
        compression: { title: 'Compression', description: 'Enables compression.', type: 'boolean' },
      },
    });
  }

  /** os-hosts (admin): the hosts of the sandbox's services. */
  async listHosts(req: VolumeRequest<'listHosts'>): Promise<VolumeResponse<'listHosts'>> {
    this.cloud.project(req.context);
    const now = isoNoZone();
    const host = (host_name: string, service: string) => ({ host_name, service, zone: AZ, 'service-status': 'available', 'service-state': 'enabled', 'last-update': now });
    return out<'listHosts'>({ hosts: [host('sandbox', 'cinder-scheduler'), host('sandbox@sandbox', 'cinder-volume')] });
  }

  /** One host's usage, in total and by project, as Cinder's os-hosts show (counts as strings). */
  async showHost(req: VolumeRequest<'showHost'>): Promise<VolumeResponse<'showHost'>> {
    const name = (req.path as { id?: string; host_name?: string }).id ?? (req.path as { host_name?: string }).host_name ?? '';
    if (!['sandbox', 'sandbox@sandbox'].includes(name)) throw Fault.notFound(`Host ${name} could not be found.`);
    const vols = this.volumes(null);
    const snaps = this.snapshots(null);
    const row = (project: string, vs: VolumeDoc[], ss: SnapshotDoc[]) => ({ resource: {
      host: name, project, volume_count: String(vs.length), total_volume_gb: String(vs.reduce((n, v) => n + v.size, 0)),
      snapshot_count: String(ss.length), total_snapshot_gb: String(ss.reduce((n, x) => n + x.size, 0)),
    } });
    const projects = [...new Set(vols.map((v) => v.project_id ?? ''))];
    return out<'showHost'>({ host: [row('(total)', vols, snaps), ...projects.map((p) => row(p, vols.filter((v) => v.project_id === p), snaps.filter((x) => x.project_id === p)))] });
  }

  /** The scheduler's pools: the sandbox has one (admin). */
  async listSchedulerStatGetPools(req: VolumeRequest<'listSchedulerStatGetPools'>): Promise<VolumeResponse<'listSchedulerStatGetPools'>> {
    const q = this.query(req);
    const detail = q.detail !== undefined && bool(q.detail, 'detail');
    const pool: Record<string, unknown> = { name: HOST };
    if (detail) {
      pool.capabilities = {
        volume_backend_name: 'sandbox', vendor_name: 'Open Source', driver_version: '1.0.0', storage_protocol: 'local',
        total_capacity_gb: 10000, free_capacity_gb: Math.max(0, 10000 - this.volumes(null).reduce((n, v) => n + v.size, 0)),
        reserved_percentage: 0, QoS_support: false, multiattach: true, thin_provisioning_support: true, timestamp: isoNoZone(),
      };
    }
    return out<'listSchedulerStatGetPools'>({ pools: [pool] });
  }

  /** The API extensions Cinder lists (cinder/api/contrib), those the sandbox serves. */
  async listExtensions(_req: VolumeRequest<'listExtensions'>): Promise<VolumeResponse<'listExtensions'>> {
    const ext = (alias: string, name: string, description: string) => ({ alias, name, description, links: [], updated: '2012-05-31T00:00:00+00:00' });
    return out<'listExtensions'>({
      extensions: [
        ext('os-admin-actions', 'AdminActions', 'AdminActions, as the sandbox serves it.'),
        ext('os-availability-zone', 'AvailabilityZones', 'AvailabilityZones, as the sandbox serves it.'),
        ext('os-extended-snapshot-attributes', 'ExtendedSnapshotAttributes', 'ExtendedSnapshotAttributes, as the sandbox serves it.'),
        ext('os-hosts', 'Hosts', 'Hosts, as the sandbox serves it.'),
        ext('os-services', 'Services', 'Services, as the sandbox serves it.'),
        ext('scheduler-stats', 'Scheduler_stats', 'Scheduler_stats, as the sandbox serves it.'),
        ext('os-snapshot-actions', 'SnapshotActions', 'SnapshotActions, as the sandbox serves it.'),
        ext('os-quota-sets', 'Quotas', 'Quotas, as the sandbox serves it.'),
        ext('os-quota-class-sets', 'QuotaClasses', 'QuotaClasses, as the sandbox serves it.'),
        ext('os-types-extra-specs', 'TypesExtraSpecs', 'TypesExtraSpecs, as the sandbox serves it.'),
        ext('os-types-manage', 'TypesManage', 'TypesManage, as the sandbox serves it.'),
        ext('os-used-limits', 'UsedLimits', 'UsedLimits, as the sandbox serves it.'),
        ext('os-vol-host-attr', 'VolumeHostAttribute', 'VolumeHostAttribute, as the sandbox serves it.'),
        ext('os-vol-mig-status-attr', 'VolumeMigStatusAttribute', 'VolumeMigStatusAttribute, as the sandbox serves it.'),
        ext('os-vol-tenant-attr', 'VolumeTenantAttribute', 'VolumeTenantAttribute, as the sandbox serves it.'),
        ext('os-volume-actions', 'VolumeActions', 'VolumeActions, as the sandbox serves it.'),
        ext('os-volume-type-access', 'VolumeTypeAccess', 'VolumeTypeAccess, as the sandbox serves it.'),
      ],
    });
  }

  async listLimits(req: VolumeRequest<'listLimits'>): Promise<VolumeResponse<'listLimits'>> {
    const projectId = this.cloud.project(req.context);
    const l = this.quotaLimits(projectId);
    const u = this.usage(projectId);
    return out<'listLimits'>({
      limits: {
        rate: [],
        absolute: {
          maxTotalVolumes: l.volumes, maxTotalSnapshots: l.snapshots, maxTotalVolumeGigabytes: l.gigabytes,
          maxTotalBackups: l.backups, maxTotalBackupGigabytes: l.backup_gigabytes,
          totalVolumesUsed: u.volumes, totalSnapshotsUsed: u.snapshots, totalGigabytesUsed: u.gigabytes,
          totalBackupsUsed: u.backups, totalBackupGigabytesUsed: u.backup_gigabytes,
        },
      },
    });
  }

  async listAvailabilityZone(_req: VolumeRequest<'listAvailabilityZone'>): Promise<VolumeResponse<'listAvailabilityZone'>> {
    return out<'listAvailabilityZone'>({ availabilityZoneInfo: [{ zoneName: AZ, zoneState: { available: true } }] });
  }
}

// ---- what Nova asks of Cinder ----------------------------------------------------------

/** Cinder's side for Nova: attach and detach, boot volumes made from images, delete on termination. */
export function volumeSide(cloud: SandboxCloud): VolumeSide {
  const d = new SandboxVolume(cloud);
  const owned = (projectId: string, id: string): VolumeDoc => {
    const v = d.loadVolume(id);
    if (!v || v.project_id !== projectId) throw Fault.notFound(`Volume ${id} could not be found.`);
    return v;
  };
  return {
    api: (method, ctx, call) => cloud.callService(d, { name: 'block-storage', prefix: '/volume', microversion: '3.0' }, method, ctx, call),

    volume(projectId, id) {
      const v = d.loadVolume(id);
      return v && v.project_id === projectId ? v : undefined;
    },
    attach(projectId, volumeId, serverId, device) {
      return cloud.store.tx(() => {
        const v = owned(projectId, volumeId);
        if (!(v.status === 'available' || v.status === 'attaching' || v.status === 'reserved' || (v.multiattach && v.status === 'in-use'))) {
          throw Fault.conflict(`Volume ${volumeId} status must be available to attach, but the current status is: ${v.status}.`);
        }
        if (v.attachments.some((a) => a.server_id === serverId)) throw Fault.conflict(`Volume ${volumeId} is already attached to server ${serverId}.`);
        d.attachTo(v, serverId, null, device, v.admin_metadata.readonly === 'True' ? 'ro' : 'rw');
        return v;
      });
    },
    detach(projectId, volumeId, serverId) {
      return cloud.store.tx(() => {
        const v = owned(projectId, volumeId);
        const a = v.attachments.find((x) => x.server_id === serverId);
        if (!a) throw Fault.conflict(`Volume ${volumeId} is not attached to server ${serverId}.`);
        d.detachFrom(v, a.id);
        return v;
      });
    },
    createFromImage(projectId, imageId, sizeGb, name, userId) {
      return cloud.store.tx(() => {
        const { image, size } = d.imageFor(projectId, imageId, sizeGb > 0 ? sizeGb : null);
        d.checkQuota(projectId, { volumes: 1, gigabytes: size, perVolume: size });
        // Nova waits for the volume before it boots; the sandbox hands it over ready.
        // Without the caller's user, the project stands in: user_id must name someone.
        const v = d.newVolume(projectId, userId ?? projectId, { size, name, description: null, type: d.defaultType(), metadata: {}, image, readyNow: true });
        cloud.store.insert(VOLUME, v);
        return v;
      });
    },
    delete(projectId, volumeId) {
      cloud.store.tx(() => {
        const v = d.loadVolume(volumeId);
        if (!v || v.project_id !== projectId) return;
        d.deleteChecked(v);
      });
    },
  };
}
