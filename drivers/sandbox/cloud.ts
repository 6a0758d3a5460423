/**
 * The sandbox cloud: its store, its settings, and what its services ask of
 * each other. Nova allocates Neutron ports and attaches Cinder volumes, Glance
 * reports an image used by a server: each service file implements its side of
 * these interfaces and index.ts wires them together.
 */
import { Reply, type AuthContext, type RequestContext } from '../../generated/common.js';
import type { ImageMethodName, NetworkMethodName, VolumeMethodName } from '../../generated/index.js';
import { Fault } from '../../src/faults.js';
import type { Resource, SandboxStore } from './store.js';

export interface SandboxOptions {
  /** How long a server stays in BUILD (and a volume in creating) before it is ACTIVE. */
  buildDelayMs: number;
  /** Where image data is kept. */
  imageDir: string;
  /** Largest image upload accepted (413 beyond). */
  maxImageBytes: number;
}

// ---- resources other services read -----------------------------------------

export interface PortRecord extends Resource {
  network_id: string;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  device_id: string;
  device_owner: string;
  security_groups: string[];
  status: string;
  admin_state_up: boolean;
}

export interface ImageRecord extends Resource {
  status: string;
  visibility: string;
  min_disk: number;
  min_ram: number;
  size: number | null;
  disk_format: string | null;
  container_format: string | null;
  owner: string | null;
  properties?: Record<string, unknown>;
}

export interface VolumeRecord extends Resource {
  status: string;
  size: number;
  bootable: boolean;
  attachments: { id: string; server_id: string; device: string | null; attached_at: string }[];
}

/** One server address, as Nova shows it under `addresses`. */
export interface ServerAddress {
  version: 4 | 6;
  addr: string;
  'OS-EXT-IPS:type': 'fixed' | 'floating';
  'OS-EXT-IPS-MAC:mac_addr': string;
}

// ---- what services ask of each other ---------------------------------------

/** One call of another service's API: what its driver method gets besides the context. */
export interface ApiCall {
  path?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Another sandbox service's API, called with the caller's own context, as
 * Nova's proxy APIs (images, os-security-groups, os-floating-ips, os-volumes…)
 * call Glance, Neutron and Cinder with the user's token: that service's checks
 * and faults apply. The answer is that service's body (a Reply unwrapped).
 */
export type ServiceApi<M extends string> = (method: M, ctx: RequestContext, call?: ApiCall) => Promise<unknown>;

/** Neutron's side: ports and addresses for servers. */
export interface NetworkSide {
  /** A port for a server: on a network (made now), or an existing free port. */
  allocateServerPort(projectId: string, req: { networkId?: string; portId?: string; fixedIp?: string; securityGroups: string[]; serverId: string }): PortRecord;
  /** Frees a server's ports: the ones made for it are deleted, the user's are unbound. */
  releaseServerPorts(serverId: string): void;
  /** Addresses by network name, fixed and floating. */
  serverAddresses(serverId: string): Record<string, ServerAddress[]>;
  /** serverAddresses of many servers at once (a page of a list), by server id. */
  serversAddresses(serverIds: readonly string[]): Map<string, Record<string, ServerAddress[]>>;
  /** The network `networks: "auto"` picks for a project (created if needed). */
  autoNetwork(projectId: string): string;
  /** A security group by name or id visible to the project (the default one is created on first use). */
  securityGroup(projectId: string, nameOrId: string): Resource & { name: string };
  /** Adds or removes a security group on all of a server's ports. */
  setServerSecurityGroup(serverId: string, groupId: string, add: boolean): void;
  /** The ports a server is plugged into. */
  serverPorts(serverId: string): PortRecord[];
  /**
   * The external networks floating IPs come from (Nova's pools). When the
   * cloud has none, the sandbox's provider network `public` is made, as
   * devstack makes one.
   */
  floatingPools(): { id: string; name: string }[];
  /** Neutron's API (networks, security groups and rules, floating IPs, ports). */
  api: ServiceApi<NetworkMethodName>;
}

/** Glance's side. */
export interface ImageSide {
  /** An image the project may use (its own, public, shared with it, community). */
  image(projectId: string, id: string): ImageRecord | undefined;
  /** A snapshot image of a server (createImage), active at once. */
  snapshotImage(projectId: string, name: string, sourceImageId: string | null, metadata: Record<string, string>): ImageRecord;
  /** Images the caller sees in Glance's list (own, public, shared with it and accepted; all for admins), oldest first. */
  visibleImages(projectId: string, admin: boolean): ImageRecord[];
  /** An image the caller may look at (admins: any), with its times and custom properties. */
  visibleImage(projectId: string, admin: boolean, id: string): ImageRecord | undefined;
  /** Glance's API (delete, JSON-patch update, …). */
  api: ServiceApi<ImageMethodName>;
}

/** Cinder's side. */
export interface VolumeSide {
  volume(projectId: string, id: string): VolumeRecord | undefined;
  /** Marks a volume in-use by a server (os-attach); 409 when it is not available. */
  attach(projectId: string, volumeId: string, serverId: string, device: string): VolumeRecord;
  detach(projectId: string, volumeId: string, serverId: string): VolumeRecord;
  /** A bootable volume made from an image for boot-from-volume; `userId` is the caller (Cinder's user_id). */
  createFromImage(projectId: string, imageId: string, sizeGb: number, name: string, userId?: string): VolumeRecord;
  delete(projectId: string, volumeId: string): void;
  /** Cinder's API (volumes and snapshots), at microversion 3.0. */
  api: ServiceApi<VolumeMethodName>;
}

/** Nova's side, for the others. */
export interface ComputeSide {
  /** Servers using an image (Glance shows it, and refuses to delete it). */
  serversUsingImage(imageId: string): string[];
  /** A server the project owns, for Neutron's device checks. */
  serverExists(projectId: string, serverId: string): boolean;
}

export class SandboxCloud {
  network!: NetworkSide;
  image!: ImageSide;
  volume!: VolumeSide;
  compute!: ComputeSide;

  constructor(readonly store: SandboxStore, readonly options: SandboxOptions) {}

  /** Calls `method` of `driver` as a request of `service` (its microversion, its endpoint) made by the caller of `ctx`. */
  async callService(
    driver: object, service: { name: string; prefix: string; microversion: string | null }, method: string, ctx: RequestContext, call: ApiCall = {},
  ): Promise<unknown> {
    const fn = (driver as Record<string, unknown>)[method];
    if (typeof fn !== 'function') throw Fault.notImplemented(`The sandbox's ${service.name} has no ${method}.`);
    const context: RequestContext = {
      ...ctx, service: service.name, microversion: service.microversion,
      endpoint: ctx.endpoint.replace(/\/[^/]+$/, service.prefix),
    };
    const result: unknown = await (fn as (req: unknown) => Promise<unknown>).call(driver, {
      path: call.path ?? {}, query: call.query ?? {}, body: call.body, headers: call.headers ?? {}, context,
    });
    return result instanceof Reply ? result.body : result;
  }

  /** The caller's project; every sandbox resource belongs to one. */
  project(ctx: RequestContext): string {
    const auth = ctx.auth;
    if (!auth) throw Fault.unauthorized('The request you have made requires authentication.');
    if (!auth.projectId) throw Fault.forbidden('This call needs a project-scoped token.');
    return auth.projectId;
  }

  /**
   * The project filter of a list: the caller's, or every project when an admin
   * asks for all (`all_tenants`, `all_projects`), or a named one (`project_id`,
   * `tenant_id`) that an admin may choose.
   */
  listScope(ctx: RequestContext, query: Record<string, unknown>): string | null {
    const auth = ctx.auth as AuthContext;
    const mine = this.project(ctx);
    if (!auth.isAdmin) return mine;
    const all = ['all_tenants', 'all_projects'].some((k) => query[k] !== undefined && !['0', 'false', 'False'].includes(String(query[k])));
    const named = (query.project_id ?? query.tenant_id) as string | undefined;
    if (named) return named;
    return all ? null : mine;
  }
}
