/**
 * What the SoftLayer drivers share: the REST client, the config, the caller's
 * credential (from the token) and the lookups more than one service needs
 * (datacenters, image templates by their globalIdentifier).
 */
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../generated/common.js';
import type { SoftLayerConfig } from '../../src/config.js';
import { Fault } from '../../src/faults.js';
import { isSoftLayerCredential, type CallOptions, type SoftLayerClient, type SoftLayerCredential } from './client.js';

/** SoftLayer_Location (a datacenter), as the drivers read it. */
export interface SlDatacenter { id: number; name: string; longName?: string }

/** SoftLayer_Virtual_Guest_Block_Device_Template_Group. */
export interface SlTemplate {
  id: number; globalIdentifier: string; name: string; note?: string | null; accountId?: number | null; publicFlag?: number | boolean;
  createDate?: string; parentId?: number | null; status?: { keyName?: string; name?: string }; blockDevicesDiskSpaceTotal?: number | string;
  datacenters?: SlDatacenter[]; operatingSystemReferenceCode?: string; transaction?: unknown;
}

export const TEMPLATE_MASK = 'mask[id,globalIdentifier,name,note,accountId,publicFlag,createDate,parentId,status[keyName,name],blockDevicesDiskSpaceTotal,datacenters[id,name],operatingSystemReferenceCode,transaction[id]]';

/** An operating system createObject can install (getCreateObjectOptions' operatingSystems). */
export interface SlOsOption { code: string; description: string }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class SoftLayerCloud {
  constructor(readonly client: SoftLayerClient, readonly config: SoftLayerConfig) {}

  /** The SoftLayer credential sealed in the caller's token. */
  cred(ctx: RequestContext): SoftLayerCredential {
    const c = ctx.auth?.backendCredential;
    if (!isSoftLayerCredential(c)) {
      throw Fault.forbidden('This token carries no SoftLayer credential: authenticate with a SoftLayer username and API key.');
    }
    return c;
  }

  // ctx.signal is not passed on: the gateway aborts it when a request body has
  // been read (IncomingMessage 'close'), not only when the client goes away.
  call<T>(ctx: RequestContext, service: string, method: string, o: CallOptions = {}): Promise<T> {
    return this.client.call<T>(this.cred(ctx), service, method, o);
  }

  listAll<T>(ctx: RequestContext, service: string, method: string, o: CallOptions = {}): Promise<T[]> {
    return this.client.listAll<T>(this.cred(ctx), service, method, o);
  }

  datacenters(ctx: RequestContext): Promise<SlDatacenter[]> {
    return this.listAll<SlDatacenter>(ctx, 'SoftLayer_Location_Datacenter', 'getDatacenters', { mask: 'mask[id,name,longName]' });
  }

  /** Private, shared and public templates. */
  async templates(ctx: RequestContext, filter?: Record<string, unknown>): Promise<SlTemplate[]> {
    const [own, pub] = await Promise.all([
      this.listAll<SlTemplate>(ctx, 'SoftLayer_Account', 'getBlockDeviceTemplateGroups', { mask: TEMPLATE_MASK, ...(filter ? { filter: { blockDeviceTemplateGroups: filter } } : {}) }),
      this.listAll<SlTemplate>(ctx, 'SoftLayer_Virtual_Guest_Block_Device_Template_Group', 'getPublicImages', { mask: TEMPLATE_MASK, ...(filter ? { filter } : {}) }),
    ]);
    // Children are per-datacenter copies of a group: only the groups are images.
    return [...own, ...pub].filter((t) => !t.parentId);
  }

  /**
   * The operating systems new guests can be ordered with: getCreateObjectOptions'
   * `operatingSystems[].template.operatingSystemReferenceCode`, described by
   * `itemPrice.item.description`. Each code once, in SoftLayer's order.
   */
  async osOptions(ctx: RequestContext): Promise<SlOsOption[]> {
    const opts = await this.call<{ operatingSystems?: { template?: { operatingSystemReferenceCode?: string }; itemPrice?: { item?: { description?: string } } }[] }>(
      ctx, 'SoftLayer_Virtual_Guest', 'getCreateObjectOptions');
    const seen = new Map<string, SlOsOption>();
    for (const o of opts.operatingSystems ?? []) {
      const code = o.template?.operatingSystemReferenceCode;
      if (code && !seen.has(code)) seen.set(code, { code, description: o.itemPrice?.item?.description ?? code });
    }
    return [...seen.values()];
  }

  /** The OS behind an OS image id (osImageUuid), when SoftLayer still offers it; 404 otherwise. */
  async osOption(ctx: RequestContext, imageId: string): Promise<SlOsOption> {
    const os = isOsImageUuid(imageId) ? (await this.osOptions(ctx)).find((o) => osImageUuid(o.code) === imageId.toLowerCase()) : undefined;
    if (!os) throw Fault.notFound(`Image ${imageId} could not be found.`);
    return os;
  }

  /** A template by its globalIdentifier (the image id clients see); 404 when there is none. */
  async template(ctx: RequestContext, imageId: string): Promise<SlTemplate> {
    if (!UUID.test(imageId)) throw Fault.notFound(`Image ${imageId} could not be found.`);
    const [t] = await this.templates(ctx, { globalIdentifier: { operation: imageId } });
    if (!t) throw Fault.notFound(`Image ${imageId} could not be found.`);
    return t;
  }
}

/**
 * OpenStack ids are UUIDs; SoftLayer guests, VLANs, subnets, network
 * components and volumes have numeric ids. The two map one to one: the first
 * group names the kind, the last holds the SoftLayer id in hex.
 */
export const KIND = {
  guest: '51000001', vlan: '51000002', subnet: '51000003', port: '51000004', volume: '51000005', secgroup: '51000007', sgrule: '51000008',
} as const;
export type Kind = keyof typeof KIND;

export function slUuid(kind: Kind, id: number): string {
  return `${KIND[kind]}-0000-4000-8000-${id.toString(16).padStart(12, '0')}`;
}

/** The SoftLayer id in an OpenStack id of that kind; anything else names nothing (404). */
export function slId(kind: Kind, uuid: string, what: string): number {
  const m = new RegExp(`^${KIND[kind]}-0000-4000-8000-([0-9a-f]{12})$`, 'i').exec(uuid);
  if (!m) throw Fault.notFound(`${what} ${uuid} could not be found.`);
  return parseInt(m[1]!, 16);
}

/**
 * OS reference codes (UBUNTU_22_64) are images too, beside the templates.
 * Their id is name-based and cannot be decoded (codes are longer than a UUID
 * holds): the first group marks the kind, the rest is the SHA-1 of the code
 * with the version 5 and RFC 4122 variant bits set. The same code is the same
 * id everywhere and always; mapping back hashes the codes getCreateObjectOptions
 * offers (one call) and picks the match, and the marker spares template
 * lookups for these ids.
 */
export const OS_IMAGE_KIND = '51000009';

export function osImageUuid(code: string): string {
  const h = createHash('sha1').update(`softlayer-os:${code}`).digest('hex');
  return `${OS_IMAGE_KIND}-${h.slice(0, 4)}-5${h.slice(5, 8)}-${(8 | (parseInt(h[8]!, 16) & 3)).toString(16)}${h.slice(9, 12)}-${h.slice(12, 24)}`;
}

export function isOsImageUuid(id: string): boolean {
  return new RegExp(`^${OS_IMAGE_KIND}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, 'i').test(id);
}

/**
 * Glance's os_distro, os_version and architecture read off a reference code
 * (`UBUNTU_22_64`, `CENTOS_LATEST_64`, `WIN_2019-STD_64`): the first part is the
 * distribution, a number after it the version, a trailing 64 or 32 the word size.
 */
export function osProperties(code: string): { os_distro?: string; os_version?: string; architecture?: string } {
  const parts = code.toUpperCase().split('_');
  const distro = parts[0] ?? '';
  const DISTRO: Record<string, string> = { REDHAT: 'rhel', WIN: 'windows', WINDOWS: 'windows', ROCKYLINUX: 'rocky', ALMALINUX: 'almalinux', SLES: 'sles' };
  const out: { os_distro?: string; os_version?: string; architecture?: string } = {};
  if (/^[A-Z]+$/.test(distro)) out.os_distro = DISTRO[distro] ?? distro.toLowerCase();
  const version = parts.length > 2 ? /^(\d+(?:\.\d+)?)/.exec(parts[1]!)?.[1] : undefined;
  if (version) out.os_version = version;
  const bits = parts.length > 1 ? parts[parts.length - 1] : undefined;
  if (bits === '64') out.architecture = 'x86_64';
  else if (bits === '32') out.architecture = 'i686';
  return out;
}

/** SoftLayer dates carry an offset; OpenStack writes UTC with Z. */
export function isoZ(date: string | null | undefined): string | null {
  if (!date) return null;
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
