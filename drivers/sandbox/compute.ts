/**
 * The sandbox's compute service (Nova 2.1). For now: flavors, read-only,
 * from the built-in set; the full sandbox cloud is the sandbox issue's work.
 */
import type { ComputeDriver, ComputeRequest, ComputeResponse } from '../../generated/index.js';
import { Fault } from '../../src/faults.js';
import { atLeast } from '../../src/microversion.js';
import { nextLink, paginate } from '../../src/paging.js';
import { BUILTIN_FLAVORS, type SandboxFlavor } from './flavors.js';
import type { ComputeSide, SandboxCloud } from './cloud.js';

type Ctx = ComputeRequest<'showFlavor'>['context'];

function flavorLinks(ctx: Ctx, id: string) {
  return [
    { rel: 'self', href: `${ctx.endpoint}/v2.1/flavors/${id}` },
    { rel: 'bookmark', href: `${ctx.endpoint}/flavors/${id}` },
  ];
}

/** A flavor as Nova shows it at the negotiated microversion. */
function flavorDetail(ctx: Ctx, f: SandboxFlavor) {
  const mv = ctx.microversion;
  const base = {
    id: f.id,
    name: f.name,
    ram: f.ram,
    disk: f.disk,
    vcpus: f.vcpus,
    // Before 2.75 an unset swap is shown as "" (Nova's flavor view builder).
    swap: atLeast(mv, '2.75') || f.swap !== 0 ? f.swap : ('' as const),
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'OS-FLV-DISABLED:disabled': f.disabled,
    rxtx_factor: f.rxtxFactor,
    'os-flavor-access:is_public': f.isPublic,
    links: flavorLinks(ctx, f.id),
  };
  if (atLeast(mv, '2.61')) return { ...base, description: f.description, extra_specs: f.extraSpecs };
  if (atLeast(mv, '2.55')) return { ...base, description: f.description };
  return base;
}

type ListQuery = ComputeRequest<'listFlavors'>['query'];

/** Filters and sort of GET /flavors and /flavors/detail (Nova: minRam, minDisk, is_public, sort_key/dir). */
function select(query: ListQuery): SandboxFlavor[] {
  const minRam = query.minRam === undefined ? 0 : Number(query.minRam);
  const minDisk = query.minDisk === undefined ? 0 : Number(query.minDisk);
  if (Number.isNaN(minRam)) throw Fault.badRequest(`Invalid minRam filter [${query.minRam}]`);
  if (Number.isNaN(minDisk)) throw Fault.badRequest(`Invalid minDisk filter [${query.minDisk}]`);
  const isPublic = query.is_public === undefined ? 'true' : String(query.is_public).toLowerCase();
  const sortKey = (query.sort_key ?? 'flavorid') as string;
  const keys: Record<string, (f: SandboxFlavor) => string | number> = {
    flavorid: (f) => f.id, id: (f) => f.id, name: (f) => f.name, memory_mb: (f) => f.ram, memory: (f) => f.ram,
    root_gb: (f) => f.disk, vcpus: (f) => f.vcpus, ephemeral_gb: (f) => f.ephemeral, swap: (f) => f.swap,
    rxtx_factor: (f) => f.rxtxFactor, disabled: (f) => Number(f.disabled), is_public: (f) => Number(f.isPublic),
    created_at: (f) => f.id, description: (f) => f.description ?? '',
  };
  const key = keys[sortKey];
  if (!key) throw Fault.badRequest(`Invalid sort_key: ${sortKey}`);
  const dir = query.sort_dir === 'desc' ? -1 : 1;
  return BUILTIN_FLAVORS
    .filter((f) => f.ram >= minRam && f.disk >= minDisk)
    .filter((f) => isPublic === 'none' || (['true', 't', '1', 'yes', 'y'].includes(isPublic) ? f.isPublic : !f.isPublic))
    .sort((a, b) => {
      const x = key(a), y = key(b);
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), 'en', { numeric: true })) * dir;
    });
}

function findFlavor(id: string): SandboxFlavor {
  const f = BUILTIN_FLAVORS.find((x) => x.id === id);
  if (!f) throw Fault.notFound(`Flavor ${id} could not be found.`);
  return f;
}

export class SandboxCompute implements ComputeDriver {
  constructor(readonly cloud: SandboxCloud) {}

  async listFlavors(req: ComputeRequest<'listFlavors'>): Promise<ComputeResponse<'listFlavors'>> {
    const { items, more } = paginate(select(req.query), req.query, (f) => f.id);
    const ctx = req.context;
    const links = more ? { flavors_links: [nextLink(ctx.url, req.query, items[items.length - 1]!.id)] } : {};
    if (atLeast(ctx.microversion, '2.55')) {
      return { flavors: items.map((f) => ({ id: f.id, name: f.name, description: f.description, links: flavorLinks(ctx, f.id) })), ...links };
    }
    return { flavors: items.map((f) => ({ id: f.id, name: f.name, links: flavorLinks(ctx, f.id) })), ...links };
  }

  async listFlavorsDetail(req: ComputeRequest<'listFlavorsDetail'>): Promise<ComputeResponse<'listFlavorsDetail'>> {
    const { items, more } = paginate(select(req.query), req.query, (f) => f.id);
    const ctx = req.context;
    const flavors = items.map((f) => flavorDetail(ctx, f));
    return (more ? { flavors, flavors_links: [nextLink(ctx.url, req.query, items[items.length - 1]!.id)] } : { flavors });
  }

  async showFlavor(req: ComputeRequest<'showFlavor'>): Promise<ComputeResponse<'showFlavor'>> {
    return { flavor: flavorDetail(req.context, findFlavor(req.path.id)) };
  }

  /** `openstack flavor list` asks for every flavor's extra specs. */
  async listFlavorExtraSpecs(req: ComputeRequest<'listFlavorExtraSpecs'>): Promise<ComputeResponse<'listFlavorExtraSpecs'>> {
    return { extra_specs: { ...findFlavor(req.path.flavor_id).extraSpecs } };
  }

  async showFlavorExtraSpec(req: ComputeRequest<'showFlavorExtraSpec'>): Promise<ComputeResponse<'showFlavorExtraSpec'>> {
    const f = findFlavor(req.path.flavor_id);
    const value = f.extraSpecs[req.path.id];
    if (value === undefined) throw Fault.notFound(`Flavor ${f.id} has no extra specs with key ${req.path.id}.`);
    return { [req.path.id]: value };
  }
}

/** What the other sandbox services ask of compute. */
export function computeSide(cloud: SandboxCloud): ComputeSide {
  return {
    serversUsingImage: (imageId) => cloud.store.list<{ id: string; project_id: string | null; created_at: string; updated_at: string; image_id?: string }>('server', { where: (s) => s.image_id === imageId }).map((s) => s.id),
    serverExists: (projectId, serverId) => cloud.store.get<{ id: string; project_id: string | null; created_at: string; updated_at: string }>('server', serverId)?.project_id === projectId,
  };
}
