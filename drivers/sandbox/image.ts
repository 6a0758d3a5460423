/**
 * The sandbox's image service (Glance v2): image records in the sandbox store,
 * image data in files under `options.imageDir` (one file per image, named by
 * its id, written to a temporary name and renamed when complete, so a file
 * that exists is whole and never changes). Visibility, members, JSON-patch,
 * status transitions, faults and list paging follow Glance's own code
 * (glance/api/v2/images.py, image_members.py, glance/db/sqlalchemy/api.py).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, linkSync, mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { rename, stat, unlink, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Reply, type AuthContext, type RequestContext } from '../../generated/common.js';
import type { ImageDriver, ImageRequest, ImageResponse } from '../../generated/image/driver.js';
import { Fault } from '../../src/faults.js';
import type { ImageRecord, ImageSide, SandboxCloud } from './cloud.js';
import { isoZ, type Resource } from './store.js';
import { ImageMetadefs } from './image-metadefs.js';
import { collectionSchema, imageSchema, memberSchema } from '../../src/glance-schemas.js';

/**
 * Image data is read for a download in 1 MiB chunks (fs streams default to
 * 64 KiB): a 256 MB download was 4,096 reads and socket writes, each through
 * the stream machinery (make bench: download ~+25%).
 */
const DATA_CHUNK = 1024 * 1024;

const KIND = 'image';
const MEMBER_KIND = 'image_member';

/** An image as the sandbox keeps it: Glance's columns, and custom properties as strings. */
export interface GlanceImage extends ImageRecord {
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  protected: boolean;
  os_hidden: boolean;
  virtual_size: number | null;
  tags: string[];
  properties: Record<string, string>;
}

/** One membership: id `<image>:<member>`, project_id the member's project. */
interface MemberRecord extends Resource {
  image_id: string;
  member_id: string;
  status: 'pending' | 'accepted' | 'rejected';
}

// ---- Glance's constants -----------------------------------------------------

const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];
const VISIBILITIES = ['community', 'public', 'private', 'shared'];
/** Not settable at all (RequestDeserializer._disallowed_properties). */
const DISALLOWED = ['direct_url', 'self', 'file', 'schema', 'stores'];
const READ_ONLY = ['created_at', 'updated_at', 'status', 'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size', 'direct_url', 'self', 'file', 'schema', 'id', 'stores'];
const RESERVED = ['location', 'deleted', 'deleted_at'];
const RESERVED_NAMESPACES = ['os_glance'];
/** Attributes of the image itself (the rest are custom properties). */
const BASE = ['id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size', 'virtual_size',
  'container_format', 'disk_format', 'created_at', 'updated_at', 'tags', 'min_ram', 'min_disk', 'locations'];
const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'];
/** Glance's `limit_param_default` and `api_limit_max`. */
const LIMIT_DEFAULT = 25;
const LIMIT_MAX = 1000;
/** Glance's `image_tag_quota` and `image_member_quota`. */
const TAG_QUOTA = 128;
const MEMBER_QUOTA = 128;
const UUID = /^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$/;

// ---- who is asking ----------------------------------------------------------

interface Caller {
  project: string;
  admin: boolean;
}

function caller(cloud: SandboxCloud, ctx: RequestContext): Caller {
  const project = cloud.project(ctx);
  return { project, admin: (ctx.auth as AuthContext).isAdmin };
}

function membership(cloud: SandboxCloud, imageId: string, memberId: string): MemberRecord | undefined {
  return cloud.store.get<MemberRecord>(MEMBER_KIND, `${imageId}:${memberId}`);
}

/** glance.db.sqlalchemy.api.is_image_visible: any membership status will do for a direct look-up. */
function visible(cloud: SandboxCloud, img: GlanceImage, who: Caller): boolean {
  if (who.admin || img.owner === null) return true;
  if (img.visibility === 'public' || img.visibility === 'community') return true;
  if (img.owner === who.project) return true;
  return img.visibility === 'shared' && membership(cloud, img.id, who.project) !== undefined;
}

function findImage(cloud: SandboxCloud, who: Caller, id: string): GlanceImage {
  const img = cloud.store.get<GlanceImage>(KIND, id);
  if (!img || !visible(cloud, img, who)) throw Fault.notFound(`No image found with ID ${id}`);
  return img;
}

function owns(img: GlanceImage, who: Caller): boolean {
  return who.admin || img.owner === who.project;
}

// ---- views ------------------------------------------------------------------

type ImageView = ImageResponse<'showImage'>;

/** ResponseSerializer._format_image: custom properties, then the attributes, links relative. */
function imageView(img: GlanceImage): ImageView {
  return {
    ...img.properties,
    name: img.name ?? null,
    disk_format: img.disk_format,
    container_format: img.container_format,
    visibility: img.visibility as ImageView['visibility'],
    size: img.size,
    virtual_size: img.virtual_size,
    status: img.status as ImageView['status'],
    checksum: img.checksum,
    protected: img.protected,
    min_ram: img.min_ram,
    min_disk: img.min_disk,
    owner: img.owner,
    os_hidden: img.os_hidden,
    os_hash_algo: img.os_hash_algo,
    os_hash_value: img.os_hash_value,
    id: img.id,
    created_at: img.created_at,
    updated_at: img.updated_at,
    tags: [...img.tags],
    self: `/v2/images/${img.id}`,
    file: `/v2/images/${img.id}/file`,
    schema: '/v2/schemas/image',
  };
}

function memberView(m: MemberRecord) {
  return { created_at: m.created_at, image_id: m.image_id, member_id: m.member_id, schema: '/v2/schemas/member', status: m.status, updated_at: m.updated_at };
}

// ---- schemas (glance/api/v2/images.py get_base_properties, image_members.py get_schema) ----

const UUID_PATTERN = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

/** The image schema of the sandbox: Glance's, with its formats and locations. */
const sandboxImageSchema = () => imageSchema({ containerFormats: CONTAINER_FORMATS, diskFormats: DISK_FORMATS, locations: true });

// ---- value checks (the image schema, as Glance validates a partial image) ----

function checkValue(key: string, value: unknown): void {
  const bad = (what: string) => Fault.badRequest(`Provided object does not match schema 'image': ${JSON.stringify(value)} is not ${what}`);
  switch (key) {
    case 'name':
      if (value !== null && typeof value !== 'string') throw bad("of type 'null', 'string'");
      if (typeof value === 'string' && value.length > 255) throw bad('too long');
      return;
    case 'visibility':
      if (typeof value !== 'string' || !VISIBILITIES.includes(value)) throw bad(`one of ${JSON.stringify(VISIBILITIES)}`);
      return;
    case 'protected': case 'os_hidden':
      if (typeof value !== 'boolean') throw bad("of type 'boolean'");
      return;
    case 'min_ram': case 'min_disk':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw bad("of type 'integer'");
      if (value < 0) throw Fault.badRequest('Cannot be a negative value');
      return;
    case 'owner':
      if (value !== null && typeof value !== 'string') throw bad("of type 'null', 'string'");
      if (typeof value === 'string' && value.length > 255) throw bad('too long');
      return;
    case 'disk_format':
      if (value !== null && (typeof value !== 'string' || !DISK_FORMATS.includes(value))) throw bad(`one of ${JSON.stringify([null, ...DISK_FORMATS])}`);
      return;
    case 'container_format':
      if (value !== null && (typeof value !== 'string' || !CONTAINER_FORMATS.includes(value))) throw bad(`one of ${JSON.stringify([null, ...CONTAINER_FORMATS])}`);
      return;
    case 'tags':
      if (!Array.isArray(value) || value.some((t) => typeof t !== 'string')) throw bad("of type 'array' of strings");
      if (value.some((t: string) => t.length > 255)) throw bad('too long');
      return;
    case 'id':
      if (typeof value !== 'string' || !UUID.test(value)) throw bad(`matching '${UUID_PATTERN}'`);
      return;
    case 'locations':
      throw Fault.badRequest('Image locations are not supported by this cloud.');
    default:
      if (typeof value !== 'string') throw bad("of type 'string'");
  }
}

function checkKey(key: string): void {
  if (READ_ONLY.includes(key)) throw Fault.forbidden(`Attribute '${key}' is read-only.`);
  if (RESERVED.includes(key) || RESERVED_NAMESPACES.some((ns) => key.startsWith(ns))) throw Fault.forbidden(`Attribute '${key}' is reserved.`);
}

function uniqueTags(tags: string[]): string[] {
  const out = [...new Set(tags)];
  if (out.length > TAG_QUOTA) throw new Fault('overLimit', `Maximum number of tags exceeded: ${out.length} of ${TAG_QUOTA}`);
  return out;
}

/** Sets one base attribute, with the rules Glance's domain model applies. */
function setAttribute(img: GlanceImage, who: Caller, key: string, value: unknown): void {
  switch (key) {
    case 'visibility':
      if (value === 'public' && !who.admin && img.visibility !== 'public') throw Fault.forbidden('You are not authorized to complete publicize_image action.');
      img.visibility = value as string;
      return;
    case 'owner':
      if (!who.admin && value !== img.owner) throw Fault.forbidden("You are not permitted to modify 'owner' on this image.");
      img.owner = value as string | null;
      return;
    case 'disk_format': case 'container_format':
      if (!['queued', 'importing'].includes(img.status) && value !== img[key]) {
        throw Fault.forbidden(`Attribute ${key} can be only replaced for a queued image.`);
      }
      img[key] = value as string | null;
      return;
    case 'tags':
      img.tags = uniqueTags(value as string[]);
      return;
    case 'name': img.name = value as string | null; return;
    case 'protected': img.protected = value as boolean; return;
    case 'os_hidden': img.os_hidden = value as boolean; return;
    case 'min_ram': img.min_ram = value as number; return;
    case 'min_disk': img.min_disk = value as number; return;
    default: throw Fault.forbidden(`Attribute '${key}' is read-only.`);
  }
}

// ---- JSON patch (RequestDeserializer.update) -----------------------------------

interface Change { op: 'add' | 'remove' | 'replace'; path: string; value?: unknown }

const OPS = ['add', 'remove', 'replace'] as const;

function decodePointer(pointer: unknown): string[] {
  if (typeof pointer !== 'string') throw Fault.badRequest("Unable to find 'path' in JSON Schema change");
  if (!pointer.startsWith('/')) throw Fault.badRequest(`Pointer \`${pointer}\` does not start with "/".`);
  if (/\/\s*?\//.test(pointer.slice(1))) throw Fault.badRequest(`Pointer \`${pointer}\` contains adjacent "/".`);
  if (pointer.length > 1 && pointer.endsWith('/')) throw Fault.badRequest(`Pointer \`${pointer}\` end with "/".`);
  if (/~[^01]/.test(pointer) || pointer.endsWith('~')) throw Fault.badRequest(`Pointer \`${pointer}\` contains "~" not part of a recognized escape sequence.`);
  return pointer.replace(/^\/+/, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~').trim());
}

function parseChanges(body: unknown, draft: 4 | 10): Change[] {
  if (!Array.isArray(body)) throw Fault.badRequest('Request body must be a JSON array of operation objects.');
  return body.map((raw: unknown): Change => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw Fault.badRequest('Operations must be JSON objects.');
    const r = raw as Record<string, unknown>;
    let op: Change['op'];
    let pointer: unknown;
    if (draft === 10) {
      if (r.op === undefined) throw Fault.badRequest(`Unable to find \`op\` in JSON Schema change. It must be one of the following: ${OPS.join(', ')}.`);
      if (!OPS.includes(r.op as Change['op'])) throw Fault.badRequest(`Invalid operation: \`${String(r.op)}\`. It must be one of the following: ${OPS.join(', ')}.`);
      op = r.op as Change['op'];
      if (!('path' in r)) throw Fault.badRequest("Unable to find 'path' in JSON Schema change");
      pointer = r.path;
    } else {
      const present = OPS.filter((k) => k in r);
      if (present.length > 1) throw Fault.badRequest('Operation objects must contain only one member named "add", "remove", or "replace".');
      if (present.length === 0) throw Fault.badRequest('Operation objects must contain exactly one member named "add", "remove", or "replace".');
      op = present[0]!;
      pointer = r[op];
    }
    const path = decodePointer(pointer);
    if (path.length !== 1) throw Fault.badRequest(`Invalid JSON pointer for this resource: '/${path.join('/')}'`);
    const key = path[0]!;
    if (op !== 'remove' && !('value' in r)) throw Fault.badRequest(`Operation "${op}" requires a member named "value".`);
    checkKey(key);
    if (op !== 'remove') checkValue(key, r.value);
    return op === 'remove' ? { op, path: key } : { op, path: key, value: r.value };
  });
}

// ---- lists --------------------------------------------------------------------

type Query = Record<string, unknown>;

function one(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return String(v);
}

function many(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

function bool(v: string): boolean {
  const s = v.toLowerCase();
  if (['true', '1', 'yes', 'y', 't', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'n', 'f', 'off'].includes(s)) return false;
  throw Fault.badRequest(`Unrecognized value '${v}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'`);
}

/** `in:a,b` or a plain value (Glance's filters on name, id, status, formats). */
function matchesIn(filter: string, value: string | null | undefined): boolean {
  if (filter.startsWith('in:')) return filter.slice(3).split(',').map((s) => s.trim()).includes(value ?? '');
  return value === filter;
}

/** `gte:2024-01-01T00:00:00Z` and friends (glance.common.timeutils / utils.split_filter_op). */
function matchesTime(filter: string, value: string): boolean {
  const m = /^(gt|gte|lt|lte|eq|neq):(.*)$/.exec(filter);
  const op = m ? m[1]! : 'eq';
  const t = Date.parse(m ? m[2]! : filter);
  if (Number.isNaN(t)) throw Fault.badRequest(`Unable to parse datetime '${m ? m[2] : filter}'`);
  const v = Date.parse(value);
  switch (op) {
    case 'gt': return v > t;
    case 'gte': return v >= t;
    case 'lt': return v < t;
    case 'lte': return v <= t;
    case 'neq': return v !== t;
    default: return v === t;
  }
}

function sortValue(img: GlanceImage, key: string): string | number | null {
  switch (key) {
    case 'size': return img.size;
    case 'name': return img.name ?? null;
    case 'status': return img.status;
    case 'container_format': return img.container_format;
    case 'disk_format': return img.disk_format;
    case 'created_at': return img.created_at;
    case 'updated_at': return img.updated_at;
    default: return img.id;
  }
}

function compareValues(a: string | number | null, b: string | number | null): number {
  if (a === b) return 0;
  if (a === null) return -1; // NULL sorts first ascending, as in MySQL
  if (b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : 1;
}

/** ImagesController index's sort params: `sort=k:dir,…` or `sort_key`/`sort_dir` pairs. */
function sorting(q: Query): { keys: string[]; dirs: string[] } {
  const keys: string[] = [];
  const dirs: string[] = [];
  const checkKey = (k: string) => {
    if (!SORT_KEYS.includes(k)) throw Fault.badRequest(`Invalid sort key: ${k}. It must be one of the following: ${SORT_KEYS.join(', ')}.`);
    return k;
  };
  const checkDir = (d: string) => {
    if (d !== 'asc' && d !== 'desc') throw Fault.badRequest(`Invalid sort direction: ${d}`);
    return d;
  };
  if (q.sort !== undefined) {
    if (q.sort_key !== undefined || q.sort_dir !== undefined) throw Fault.badRequest('Old and new sorting syntax cannot be combined');
    for (const part of (one(q.sort) ?? '').trim().split(',')) {
      const [k, d] = [part.split(':')[0]!, part.split(':').slice(1).join(':')];
      keys.push(checkKey(k.trim()));
      dirs.push(checkDir((d || 'desc').trim()));
    }
  } else {
    for (const k of many(q.sort_key)) keys.push(checkKey(k.trim()));
    for (const d of many(q.sort_dir)) dirs.push(checkDir(d.trim()));
    if (dirs.length > 1 && dirs.length !== keys.length) throw Fault.badRequest('Number of sort dirs does not match the number of sort keys');
  }
  if (!keys.length) keys.push('created_at');
  if (!dirs.length) dirs.push('desc');
  while (dirs.length < keys.length) dirs.push(dirs[0]!);
  // glance.db.sqlalchemy.api: created_at and id always follow, so the order is total.
  for (const k of ['created_at', 'id']) {
    if (!keys.includes(k)) {
      keys.push(k);
      dirs.push(dirs[dirs.length - 1]!);
    }
  }
  return { keys, dirs };
}

/** Query parameters that are not image property filters. */
const NOT_FILTERS = new Set(['limit', 'marker', 'member_status', 'tag', 'sort', 'sort_key', 'sort_dir', 'visibility', 'name', 'status', 'owner', 'id',
  'size_min', 'size_max', 'protected', 'os_hidden', 'created_at', 'updated_at', 'container_format', 'disk_format', 'checksum', 'os_hash_value', 'min_ram', 'min_disk', 'size']);

// ---- image data ---------------------------------------------------------------

function dataPath(cloud: SandboxCloud, id: string): string {
  return join(cloud.options.imageDir, id);
}

async function removeQuietly(path: string): Promise<void> {
  try { await unlink(path); } catch { /* already gone */ }
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` within `size`; anything else is ignored (a full answer, as RFC 9110 allows). */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '') || size === 0) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return undefined;
  return { start, end };
}

// ---- the driver -----------------------------------------------------------------

export class SandboxImage implements ImageDriver {
  /** The metadata definitions catalog (image-metadefs.ts). */
  private readonly metadefs: ImageMetadefs;

  constructor(readonly cloud: SandboxCloud) {
    this.metadefs = new ImageMetadefs(cloud);
  }

  private get store() {
    return this.cloud.store;
  }

  async createImage(req: ImageRequest<'createImage'>): Promise<Reply<ImageResponse<'createImage'>>> {
    const who = caller(this.cloud, req.context);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw Fault.badRequest('Body expected in request.');
    for (const key of DISALLOWED) if (key in body) throw Fault.forbidden(`Attribute '${key}' is read-only.`);
    for (const [key, value] of Object.entries(body)) {
      if (key !== 'id') checkKey(key);
      if (key.length > 255) throw Fault.badRequest('Custom property should not be greater than 255 characters.');
      checkValue(key, value);
    }
    const id = (body.id as string | undefined) ?? randomUUID();
    const visibility = (body.visibility as string | undefined) ?? 'shared';
    if (visibility === 'public' && !who.admin) throw Fault.forbidden('You are not authorized to complete publicize_image action.');
    const owner = body.owner === undefined ? who.project : (body.owner as string | null);
    if (!who.admin && owner !== who.project) throw Fault.forbidden(`You are not permitted to create images owned by '${String(owner)}'.`);
    const properties: Record<string, string> = {};
    for (const [key, value] of Object.entries(body)) if (!BASE.includes(key)) properties[key] = value as string;
    const now = isoZ();
    const img: GlanceImage = {
      id, project_id: owner, name: (body.name as string | null | undefined) ?? null, created_at: now, updated_at: now,
      status: 'queued', visibility, owner,
      min_disk: (body.min_disk as number | undefined) ?? 0, min_ram: (body.min_ram as number | undefined) ?? 0,
      size: null, virtual_size: null, checksum: null, os_hash_algo: null, os_hash_value: null,
      disk_format: (body.disk_format as string | null | undefined) ?? null, container_format: (body.container_format as string | null | undefined) ?? null,
      protected: (body.protected as boolean | undefined) ?? false, os_hidden: (body.os_hidden as boolean | undefined) ?? false,
      tags: uniqueTags((body.tags as string[] | undefined) ?? []), properties,
    };
    this.store.tx(() => {
      if (this.store.get(KIND, id)) throw Fault.conflict(`Image with identifier ${id} already exists!`);
      this.store.insert(KIND, img);
    });
    return new Reply(imageView(img), 201, { Location: `${req.context.endpoint}/v2/images/${id}` });
  }

  async showImage(req: ImageRequest<'showImage'>): Promise<ImageResponse<'showImage'>> {
    return imageView(findImage(this.cloud, caller(this.cloud, req.context), req.path.image_id));
  }

  async listImages(req: ImageRequest<'listImages'>): Promise<ImageResponse<'listImages'>> {
    // `/v2/images/` is no route of Glance's (an empty image id): 404, not the list.
    if (new URL(req.context.url).pathname.endsWith('/')) throw Fault.notFound('The resource could not be found.');
    const who = caller(this.cloud, req.context);
    const q = req.query as Query;
    const memberStatus = one(q.member_status) ?? 'accepted';
    if (!['pending', 'accepted', 'rejected', 'all'].includes(memberStatus)) throw Fault.badRequest(`Invalid status: ${memberStatus}`);
    const visibility = one(q.visibility);
    if (visibility && ![...VISIBILITIES, 'all'].includes(visibility)) throw Fault.badRequest(`Invalid visibility value: ${visibility}`);
    if (q['changes-since'] !== undefined) throw Fault.badRequest('The "changes-since" filter is no longer available on v2.');
    let limit = LIMIT_DEFAULT;
    const rawLimit = one(q.limit);
    if (rawLimit !== undefined) {
      limit = Number(rawLimit);
      if (!/^-?\d+$/.test(rawLimit.trim())) throw Fault.badRequest('limit param must be an integer');
      if (limit < 0) throw Fault.badRequest('limit param must be positive');
    }
    limit = Math.min(limit, LIMIT_MAX);
    const { keys, dirs } = sorting(q);
    const tags = many(q.tag).map((t) => t.trim());
    const sizeMin = one(q.size_min);
    const sizeMax = one(q.size_max);
    for (const [k, v] of [['size_min', sizeMin], ['size_max', sizeMax]] as const) {
      if (v !== undefined && !/^\d+$/.test(v)) throw Fault.badRequest(`Invalid value for ${k}: ${v}`);
    }
    const hidden = one(q.os_hidden) === undefined ? false : bool(one(q.os_hidden)!);
    const prot = one(q.protected) === undefined ? undefined : bool(one(q.protected)!);
    const props = Object.entries(q).filter(([k, v]) => !NOT_FILTERS.has(k) && v !== undefined).map(([k, v]) => [k, one(v)!] as const);
    const str = (k: string) => one(q[k]);

    const accepted = new Map<string, string>();
    if (!who.admin) {
      for (const m of this.store.list<MemberRecord>(MEMBER_KIND, { projectId: who.project })) accepted.set(m.image_id, m.status);
    }
    const inScope = (img: GlanceImage): boolean => {
      if (!who.admin) {
        const status = accepted.get(img.id);
        const member = img.visibility === 'shared' && status !== undefined && (memberStatus === 'all' || status === memberStatus);
        if (!(img.owner === who.project || img.visibility === 'public' || img.visibility === 'community' || member)) return false;
      }
      if (visibility !== undefined) return visibility === 'all' || img.visibility === visibility;
      return img.owner === who.project || img.visibility !== 'community';
    };
    const matches = (img: GlanceImage): boolean => {
      if (str('name') !== undefined && !matchesIn(str('name')!, img.name)) return false;
      if (str('id') !== undefined && !matchesIn(str('id')!, img.id)) return false;
      if (str('status') !== undefined && !matchesIn(str('status')!, img.status)) return false;
      if (str('container_format') !== undefined && !matchesIn(str('container_format')!, img.container_format)) return false;
      if (str('disk_format') !== undefined && !matchesIn(str('disk_format')!, img.disk_format)) return false;
      if (str('owner') !== undefined && img.owner !== str('owner')) return false;
      if (str('checksum') !== undefined && !matchesIn(str('checksum')!, img.checksum)) return false;
      if (str('os_hash_value') !== undefined && !matchesIn(str('os_hash_value')!, img.os_hash_value)) return false;
      if (str('size') !== undefined && String(img.size) !== str('size')) return false;
      if (str('min_ram') !== undefined && String(img.min_ram) !== str('min_ram')) return false;
      if (str('min_disk') !== undefined && String(img.min_disk) !== str('min_disk')) return false;
      if (sizeMin !== undefined && (img.size === null || img.size < Number(sizeMin))) return false;
      if (sizeMax !== undefined && (img.size === null || img.size > Number(sizeMax))) return false;
      if (img.os_hidden !== hidden) return false;
      if (prot !== undefined && img.protected !== prot) return false;
      if (str('created_at') !== undefined && !matchesTime(str('created_at')!, img.created_at)) return false;
      if (str('updated_at') !== undefined && !matchesTime(str('updated_at')!, img.updated_at)) return false;
      if (!tags.every((t) => img.tags.includes(t))) return false;
      return props.every(([k, v]) => img.properties[k] === v);
    };
    let items = this.store.list<GlanceImage>(KIND, { where: (img) => inScope(img) && matches(img) });
    // created_at has whole seconds, as Glance's column; images made within one
    // second keep the order they were made in (Glance would fall back to the
    // id, a coin toss that a fast sandbox hits: Tempest's backup rotation test).
    const made = new Map(items.map((img, i) => [img.id, i]));
    const order = (a: GlanceImage, b: GlanceImage): number => {
      for (let i = 0; i < keys.length; i++) {
        let c = compareValues(sortValue(a, keys[i]!), sortValue(b, keys[i]!));
        if (c === 0 && keys[i] === 'created_at' && made.has(a.id) && made.has(b.id)) c = made.get(a.id)! - made.get(b.id)!;
        if (c !== 0) return dirs[i] === 'desc' ? -c : c;
      }
      return 0;
    };
    items.sort(order);
    const marker = one(q.marker);
    if (marker !== undefined) {
      const m = this.store.get<GlanceImage>(KIND, marker);
      if (!m || !visible(this.cloud, m, who)) throw Fault.badRequest(`Image ${marker} not found.`);
      items = items.filter((img) => order(img, m) > 0);
    }
    const page = items.slice(0, limit);

    const params = new URL(req.context.url).searchParams;
    params.delete('marker');
    const query = params.toString();
    const body: ImageResponse<'listImages'> = {
      images: page.map(imageView),
      first: query ? `/v2/images?${query}` : '/v2/images',
      schema: '/v2/schemas/images',
    };
    if (page.length !== 0 && page.length === limit) {
      params.set('marker', page[page.length - 1]!.id);
      body.next = `/v2/images?${params.toString()}`;
    }
    return body;
  }

  async updateImage(req: ImageRequest<'updateImage'>): Promise<ImageResponse<'updateImage'>> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const drafts: Record<string, 4 | 10> = { 'application/openstack-images-v2.0-json-patch': 4, 'application/openstack-images-v2.1-json-patch': 10 };
    const draft = drafts[type];
    if (!draft) {
      throw new Fault('badMediaType', `The request media type ${type} is not supported by this server.`, {
        headers: { 'Accept-Patch': Object.keys(drafts).sort().join(', ') },
      });
    }
    const changes = parseChanges(req.body, draft);
    const who = caller(this.cloud, req.context);
    const img = this.store.tx(() => {
      const img = findImage(this.cloud, who, req.path.image_id);
      if (!owns(img, who)) throw Fault.forbidden('You are not permitted to modify this image.');
      for (const ch of changes) {
        const key = ch.path;
        const base = BASE.includes(key);
        if (key === 'locations') throw Fault.badRequest('Image locations are not supported by this cloud.');
        if (ch.op === 'remove') {
          if (base) throw Fault.forbidden(`Property ${key} may not be removed.`);
          if (!(key in img.properties)) throw Fault.conflict(`Property ${key} does not exist.`);
          delete img.properties[key];
        } else if (ch.op === 'replace' && !base && !(key in img.properties)) {
          throw Fault.conflict(`Property ${key} does not exist.`);
        } else if (ch.op === 'add' && draft === 4 && (base || key in img.properties)) {
          throw Fault.conflict(`Property ${key} already present.`);
        } else if (base) {
          setAttribute(img, who, key, ch.value);
        } else {
          img.properties[key] = ch.value as string;
        }
      }
      img.project_id = img.owner;
      return this.store.put(KIND, img);
    });
    return imageView(img);
  }

  async deleteImage(req: ImageRequest<'deleteImage'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    const id = req.path.image_id;
    this.store.tx(() => {
      const img = findImage(this.cloud, who, id);
      if (!owns(img, who)) throw Fault.forbidden('You are not permitted to delete this image.');
      if (img.protected) throw Fault.forbidden(`Image ${id} is protected and cannot be deleted.`);
      // Glance answers 409 for an image whose data is still in use (InUseByStore);
      // in the sandbox a server booted from the image is that use.
      const servers = this.cloud.compute.serversUsingImage(id);
      if (servers.length) throw Fault.conflict(`Image ${id} could not be deleted because it is in use by server(s): ${servers.join(', ')}.`);
      this.store.delete(KIND, id);
      for (const m of this.store.list<MemberRecord>(MEMBER_KIND, { where: (x) => x.image_id === id })) this.store.delete(MEMBER_KIND, m.id);
    });
    await removeQuietly(dataPath(this.cloud, id));
  }

  async deactivateImage(req: ImageRequest<'deactivateImage'>): Promise<void> {
    this.setActive(req.context, req.path.image_id, false);
  }

  async reactivateImage(req: ImageRequest<'reactivateImage'>): Promise<void> {
    this.setActive(req.context, req.path.image_id, true);
  }

  private setActive(ctx: RequestContext, id: string, active: boolean): void {
    const who = caller(this.cloud, ctx);
    const action = active ? 'reactivate' : 'deactivate';
    this.store.tx(() => {
      const img = findImage(this.cloud, who, id);
      // Glance's default policy (ADMIN_OR_PROJECT_MEMBER): the admin or the owner's members.
      if (!owns(img, who)) throw Fault.forbidden(`You are not authorized to complete ${action} action.`);
      const from = active ? 'deactivated' : 'active';
      const to = active ? 'active' : 'deactivated';
      if (img.status === to) return;
      if (img.status !== from) throw Fault.forbidden(`Not allowed to ${action} image in status '${img.status}'`);
      img.status = to;
      this.store.put(KIND, img);
    });
  }

  // ---- data ----

  async uploadImage(req: ImageRequest<'uploadImage'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    const id = req.path.image_id;
    const max = this.cloud.options.maxImageBytes;
    const source = req.body;
    this.store.tx(() => {
      const img = findImage(this.cloud, who, id);
      if (!owns(img, who)) throw Fault.forbidden('You are not permitted to upload data for this image.');
      if (img.status !== 'queued') throw Fault.conflict(`Image status transition from ${img.status} to saving is not allowed`);
      const missing = (['disk_format', 'container_format'] as const).filter((k) => !img[k]);
      if (missing.length) throw Fault.badRequest(`Propert${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')} must be set prior to saving data.`);
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > max) throw new Fault('overLimit', 'The incoming image is too large: The provided image is too large.');
      img.status = 'saving';
      this.store.put(KIND, img);
    });

    await mkdir(this.cloud.options.imageDir, { recursive: true });
    const tmp = join(this.cloud.options.imageDir, `.${id}.${randomUUID()}.part`);
    const md5 = createHash('md5');
    const sha512 = createHash('sha512');
    let size = 0;
    // Read without destroying the request on failure, so a 413 still reaches the client.
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > max) throw new Fault('overLimit', 'The incoming image is too large: The provided image is too large.');
        md5.update(chunk);
        sha512.update(chunk);
        yield chunk;
      }
    }
    try {
      await pipeline(counted, createWriteStream(tmp));
    } catch (err) {
      await removeQuietly(tmp);
      source.resume(); // discard the rest of the body
      this.restoreQueued(id);
      throw err;
    }
    const stillThere = this.store.tx(() => {
      const img = this.store.get<GlanceImage>(KIND, id);
      if (!img || img.status !== 'saving') return false;
      img.status = 'active';
      img.size = size;
      img.checksum = md5.digest('hex');
      img.os_hash_algo = 'sha512';
      img.os_hash_value = sha512.digest('hex');
      this.store.put(KIND, img);
      return true;
    });
    if (!stillThere) {
      await removeQuietly(tmp);
      throw new Fault('gone', `Image ${id} could not be found after upload. The image may have been deleted during the upload.`);
    }
    await rename(tmp, dataPath(this.cloud, id));
  }

  /** Glance v2 puts an image whose upload failed back to queued, so it may be retried. */
  private restoreQueued(id: string): void {
    this.store.tx(() => {
      const img = this.store.get<GlanceImage>(KIND, id);
      if (img && img.status === 'saving') {
        img.status = 'queued';
        this.store.put(KIND, img);
      }
    });
  }

  async downloadImage(req: ImageRequest<'downloadImage'>): Promise<Reply<ImageResponse<'downloadImage'>>> {
    const who = caller(this.cloud, req.context);
    const img = findImage(this.cloud, who, req.path.image_id);
    if (img.status === 'deactivated' && !who.admin) {
      throw Fault.forbidden('The requested image has been deactivated. Image data download is forbidden.');
    }
    const path = dataPath(this.cloud, img.id);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      return new Reply(undefined, 204) as Reply<ImageResponse<'downloadImage'>>;
    }
    if (!['active', 'deactivated'].includes(img.status)) return new Reply(undefined, 204) as Reply<ImageResponse<'downloadImage'>>;
    const range = parseRange(req.headers.range, size);
    if (range) {
      return new Reply(createReadStream(path, { ...range, highWaterMark: DATA_CHUNK }) as Readable, 206, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(range.end - range.start + 1),
        'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      });
    }
    return new Reply(createReadStream(path, { highWaterMark: DATA_CHUNK }) as Readable, 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(size),
      ...(img.checksum ? { 'Content-MD5': img.checksum } : {}),
    });
  }

  // ---- tags ----

  async updateImageTag(req: ImageRequest<'updateImageTag'>): Promise<void> {
    const tag = req.path.tag_value;
    if (tag.length > 255) throw Fault.badRequest(`Provided object does not match schema 'image': '${tag}' is too long`);
    const who = caller(this.cloud, req.context);
    this.store.tx(() => {
      const img = findImage(this.cloud, who, req.path.image_id);
      if (!owns(img, who)) throw Fault.forbidden('You are not permitted to modify this image.');
      if (img.tags.includes(tag)) return;
      img.tags = uniqueTags([...img.tags, tag]);
      this.store.put(KIND, img);
    });
  }

  async deleteImageTag(req: ImageRequest<'deleteImageTag'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    const tag = req.path.tag_value;
    this.store.tx(() => {
      const img = findImage(this.cloud, who, req.path.image_id);
      if (!owns(img, who)) throw Fault.forbidden('You are not permitted to modify this image.');
      if (!img.tags.includes(tag)) throw Fault.notFound(`Tag ${tag} not found.`);
      img.tags = img.tags.filter((t) => t !== tag);
      this.store.put(KIND, img);
    });
  }

  // ---- members ----

  /** ImageMembersController._get_member_repo: only shared images have members. */
  private sharedImage(who: Caller, id: string): GlanceImage {
    const img = findImage(this.cloud, who, id);
    if (img.visibility !== 'shared') throw Fault.forbidden(`Error fetching members of image ${id}: Only shared images have members.`);
    return img;
  }

  async createImageMember(req: ImageRequest<'createImageMember'>): Promise<ImageResponse<'createImageMember'>> {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || !('member' in body)) throw Fault.badRequest('Member to be added not specified');
    const memberId = body.member;
    if (typeof memberId !== 'string' || memberId === '') throw Fault.badRequest("Member can't be empty");
    const who = caller(this.cloud, req.context);
    const m = this.store.tx(() => {
      const img = this.sharedImage(who, req.path.image_id);
      if (!owns(img, who)) throw Fault.forbidden(`Not allowed to create members for image ${img.id}.`);
      if (membership(this.cloud, img.id, memberId)) throw Fault.conflict(`Member ${memberId} is duplicated for image ${img.id}`);
      if (this.store.list<MemberRecord>(MEMBER_KIND, { where: (x) => x.image_id === img.id }).length >= MEMBER_QUOTA) {
        throw new Fault('overLimit', `The limit has been exceeded on the number of allowed image members for this image. Attempted: ${MEMBER_QUOTA + 1}, Maximum: ${MEMBER_QUOTA}`);
      }
      const now = isoZ();
      return this.store.insert<MemberRecord>(MEMBER_KIND, {
        id: `${img.id}:${memberId}`, project_id: memberId, image_id: img.id, member_id: memberId, status: 'pending', created_at: now, updated_at: now,
      });
    });
    return memberView(m);
  }

  async listImageMembers(req: ImageRequest<'listImageMembers'>): Promise<ImageResponse<'listImageMembers'>> {
    const who = caller(this.cloud, req.context);
    const img = this.sharedImage(who, req.path.image_id);
    const all = this.store.list<MemberRecord>(MEMBER_KIND, { where: (x) => x.image_id === img.id });
    const mine = owns(img, who) ? all : all.filter((m) => m.member_id === who.project);
    return { members: mine.map(memberView), schema: '/v2/schemas/members' };
  }

  /** A membership the caller may see: the owner sees all, a member its own. */
  private member(who: Caller, img: GlanceImage, memberId: string): MemberRecord {
    const m = membership(this.cloud, img.id, memberId);
    if (!m || (!owns(img, who) && memberId !== who.project)) throw Fault.notFound(`Member ${memberId} not found for image ${img.id}`);
    return m;
  }

  async showImageMember(req: ImageRequest<'showImageMember'>): Promise<ImageResponse<'showImageMember'>> {
    const who = caller(this.cloud, req.context);
    const img = this.sharedImage(who, req.path.image_id);
    return memberView(this.member(who, img, req.path.member_id));
  }

  async updateImageMember(req: ImageRequest<'updateImageMember'>): Promise<ImageResponse<'updateImageMember'>> {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || !('status' in body)) throw Fault.badRequest('Status not specified');
    const status = body.status;
    const who = caller(this.cloud, req.context);
    const m = this.store.tx(() => {
      const img = this.sharedImage(who, req.path.image_id);
      const m = this.member(who, img, req.path.member_id);
      if (m.member_id !== who.project && !who.admin) throw Fault.forbidden(`You are not permitted to modify 'status' on this image member.`);
      if (status !== 'pending' && status !== 'accepted' && status !== 'rejected') {
        throw Fault.badRequest('Incorrect request: Status must be "pending", "accepted" or "rejected".');
      }
      m.status = status;
      return this.store.put(MEMBER_KIND, m);
    });
    return memberView(m);
  }

  async deleteImageMember(req: ImageRequest<'deleteImageMember'>): Promise<void> {
    const who = caller(this.cloud, req.context);
    this.store.tx(() => {
      const img = this.sharedImage(who, req.path.image_id);
      const m = this.member(who, img, req.path.member_id);
      if (!owns(img, who)) throw Fault.forbidden(`You cannot delete image member for ${img.id}`);
      this.store.delete(MEMBER_KIND, m.id);
    });
  }

  // ---- schemas and info ----

  async listSchemaImage(): Promise<ImageResponse<'listSchemaImage'>> {
    return sandboxImageSchema();
  }

  async listSchemaImages(): Promise<ImageResponse<'listSchemaImages'>> {
    return collectionSchema('images', sandboxImageSchema());
  }

  async listSchemaMember(): Promise<ImageResponse<'listSchemaMember'>> {
    return memberSchema();
  }

  async listSchemaMembers(): Promise<ImageResponse<'listSchemaMembers'>> {
    return collectionSchema('members', memberSchema());
  }

  // ---- metadata definitions: delegated to image-metadefs.ts ----

  createMetadefNamespace(req: ImageRequest<'createMetadefNamespace'>) { return this.metadefs.createNamespace(req); }
  listMetadefNamespaces(req: ImageRequest<'listMetadefNamespaces'>) { return this.metadefs.listNamespaces(req); }
  showMetadefNamespace(req: ImageRequest<'showMetadefNamespace'>) { return this.metadefs.showNamespace(req); }
  updateMetadefNamespace(req: ImageRequest<'updateMetadefNamespace'>) { return this.metadefs.updateNamespace(req); }
  deleteMetadefNamespace(req: ImageRequest<'deleteMetadefNamespace'>) { return this.metadefs.deleteNamespace(req); }

  createMetadefNamespaceObject(req: ImageRequest<'createMetadefNamespaceObject'>) { return this.metadefs.createObject(req); }
  listMetadefNamespaceObjects(req: ImageRequest<'listMetadefNamespaceObjects'>) { return this.metadefs.listObjects(req); }
  showMetadefNamespaceObject(req: ImageRequest<'showMetadefNamespaceObject'>) { return this.metadefs.showObject(req); }
  updateMetadefNamespaceObject(req: ImageRequest<'updateMetadefNamespaceObject'>) { return this.metadefs.updateObject(req); }
  deleteMetadefNamespaceObject(req: ImageRequest<'deleteMetadefNamespaceObject'>) { return this.metadefs.deleteObject(req); }
  deleteAllMetadefNamespaceObjects(req: ImageRequest<'deleteAllMetadefNamespaceObjects'>) { return this.metadefs.deleteAllObjects(req); }

  createMetadefNamespaceProperty(req: ImageRequest<'createMetadefNamespaceProperty'>) { return this.metadefs.createProperty(req); }
  listMetadefNamespaceProperties(req: ImageRequest<'listMetadefNamespaceProperties'>) { return this.metadefs.listProperties(req); }
  showMetadefNamespaceProperty(req: ImageRequest<'showMetadefNamespaceProperty'>) { return this.metadefs.showProperty(req); }
  updateMetadefNamespaceProperty(req: ImageRequest<'updateMetadefNamespaceProperty'>) { return this.metadefs.updateProperty(req); }
  deleteMetadefNamespaceProperty(req: ImageRequest<'deleteMetadefNamespaceProperty'>) { return this.metadefs.deleteProperty(req); }
  deleteAllMetadefNamespaceProperties(req: ImageRequest<'deleteAllMetadefNamespaceProperties'>) { return this.metadefs.deleteAllProperties(req); }

  createMetadefNamespaceTagByName(req: ImageRequest<'createMetadefNamespaceTagByName'>) { return this.metadefs.createTag(req); }
  createMetadefNamespaceTag(req: ImageRequest<'createMetadefNamespaceTag'>) { return this.metadefs.createTags(req); }
  listMetadefNamespaceTags(req: ImageRequest<'listMetadefNamespaceTags'>) { return this.metadefs.listTags(req); }
  showMetadefNamespaceTag(req: ImageRequest<'showMetadefNamespaceTag'>) { return this.metadefs.showTag(req); }
  updateMetadefNamespaceTag(req: ImageRequest<'updateMetadefNamespaceTag'>) { return this.metadefs.updateTag(req); }
  deleteMetadefNamespaceTag(req: ImageRequest<'deleteMetadefNamespaceTag'>) { return this.metadefs.deleteTag(req); }
  deleteAllMetadefNamespaceTags(req: ImageRequest<'deleteAllMetadefNamespaceTags'>) { return this.metadefs.deleteAllTags(req); }

  listMetadefResourceTypes(req: ImageRequest<'listMetadefResourceTypes'>) { return this.metadefs.listResourceTypes(req); }
  createMetadefNamespaceResourceType(req: ImageRequest<'createMetadefNamespaceResourceType'>) { return this.metadefs.createAssociation(req); }
  listMetadefNamespaceResourceTypes(req: ImageRequest<'listMetadefNamespaceResourceTypes'>) { return this.metadefs.listAssociations(req); }
  deleteMetadefNamespaceResourceType(req: ImageRequest<'deleteMetadefNamespaceResourceType'>) { return this.metadefs.deleteAssociation(req); }

  async listSchemaMetadefNamespace(): Promise<ImageResponse<'listSchemaMetadefNamespace'>> { return this.metadefs.schema('namespace'); }
  async listSchemaMetadefNamespaces(): Promise<ImageResponse<'listSchemaMetadefNamespaces'>> { return this.metadefs.collectionSchema('namespaces'); }
  async listSchemaMetadefObject(): Promise<ImageResponse<'listSchemaMetadefObject'>> { return this.metadefs.schema('object'); }
  async listSchemaMetadefObjects(): Promise<ImageResponse<'listSchemaMetadefObjects'>> { return this.metadefs.collectionSchema('objects'); }
  async listSchemaMetadefProperty(): Promise<ImageResponse<'listSchemaMetadefProperty'>> { return this.metadefs.schema('property'); }
  async listSchemaMetadefProperties(): Promise<ImageResponse<'listSchemaMetadefProperties'>> { return this.metadefs.collectionSchema('properties'); }
  async listSchemaMetadefTag(): Promise<ImageResponse<'listSchemaMetadefTag'>> { return this.metadefs.schema('tag'); }
  async listSchemaMetadefTags(): Promise<ImageResponse<'listSchemaMetadefTags'>> { return this.metadefs.collectionSchema('tags'); }
  async listSchemaMetadefResourceType(): Promise<ImageResponse<'listSchemaMetadefResourceType'>> { return this.metadefs.schema('resource_type'); }
  async listSchemaMetadefResourceTypes(): Promise<ImageResponse<'listSchemaMetadefResourceTypes'>> { return this.metadefs.collectionSchema('resource_types'); }

  /** No interoperable import in the sandbox: the data is uploaded (PUT …/file). */
  async listInfoImport(): Promise<ImageResponse<'listInfoImport'>> {
    return { 'import-methods': { type: 'array', value: [] } };
  }
}

// ---- what the other sandbox services ask of the image service ---------------------

export function imageSide(cloud: SandboxCloud): ImageSide {
  const glance = new SandboxImage(cloud);
  /** Glance's default list: hidden images left out, community ones only their owner's, shared ones once accepted. */
  const listed = (img: GlanceImage, who: Caller): boolean => {
    if (img.os_hidden) return false;
    if (who.admin || img.owner === who.project || img.visibility === 'public') return true;
    return img.visibility === 'shared' && membership(cloud, img.id, who.project)?.status === 'accepted';
  };
  return {
    api: (method, ctx, call) => cloud.callService(glance, { name: 'image', prefix: '/image', microversion: null }, method, ctx, call),

    visibleImages(projectId, admin) {
      const who: Caller = { project: projectId, admin };
      return cloud.store.list<GlanceImage>(KIND).filter((img) => listed(img, who));
    },

    visibleImage(projectId, admin, id) {
      const img = cloud.store.get<GlanceImage>(KIND, id);
      return img && visible(cloud, img, { project: projectId, admin }) ? img : undefined;
    },

    image(projectId, id) {
      const img = cloud.store.get<GlanceImage>(KIND, id);
      if (!img || !visible(cloud, img, { project: projectId, admin: false })) return undefined;
      return img;
    },

    snapshotImage(projectId, name, sourceImageId, metadata) {
      const source = sourceImageId ? cloud.store.get<GlanceImage>(KIND, sourceImageId) : undefined;
      const id = randomUUID();
      const now = isoZ();
      const dir = cloud.options.imageDir;
      mkdirSync(dir, { recursive: true });
      const target = dataPath(cloud, id);
      let size = 0;
      let checksum = createHash('md5').update('').digest('hex');
      let hash = createHash('sha512').update('').digest('hex');
      if (source && source.status === 'active' && source.checksum && source.os_hash_value) {
        // Data files never change once written: a hard link is a copy.
        try { linkSync(dataPath(cloud, source.id), target); } catch { copyFileSync(dataPath(cloud, source.id), target); }
        size = source.size ?? 0;
        checksum = source.checksum;
        hash = source.os_hash_value;
      } else {
        writeFileSync(target, '');
      }
      const properties: Record<string, string> = { ...(source?.properties ?? {}), image_type: 'snapshot' };
      for (const [k, v] of Object.entries(metadata)) properties[k] = String(v);
      if (sourceImageId) properties.base_image_ref ??= sourceImageId;
      const img: GlanceImage = {
        id, project_id: projectId, name, created_at: now, updated_at: now, status: 'active', visibility: 'private', owner: projectId,
        min_disk: source?.min_disk ?? 0, min_ram: source?.min_ram ?? 0, size, virtual_size: null,
        disk_format: source?.disk_format ?? 'qcow2', container_format: source?.container_format ?? 'bare',
        checksum, os_hash_algo: 'sha512', os_hash_value: hash, protected: false, os_hidden: false, tags: [], properties,
      };
      return cloud.store.tx(() => cloud.store.insert(KIND, img));
    },
  };
}
