/**
 * The service catalog. The gateway's own services are seeded into the store
 * at start (region from config, one service per API, public/internal/admin
 * endpoints) with URLs relative to the gateway, so links follow whatever
 * address clients use (publicUrl, or X-Forwarded-* behind a proxy). Services
 * and endpoints created through the API are listed beside them.
 */
import { SERVICES } from '../../generated/services.js';
import type { IdentityService } from './service.js';
import { newId } from './service.js';
import type { Entity } from './store.js';

export interface Region extends Entity { description?: string; parent_region_id?: string | null }
export interface ServiceEntry extends Entity { type: string; name?: string; enabled: boolean; description?: string }
export interface Endpoint extends Entity {
  service_id: string; region_id: string | null; interface: 'public' | 'internal' | 'admin'; url: string; enabled: boolean;
  /** seeded by the gateway from its config */
  managed?: boolean;
}

/** Service names and URL suffixes as devstack registers them. */
const CATALOG: Record<string, { name: string; suffix: string; types: string[] }> = {
  identity: { name: 'keystone', suffix: '', types: ['identity'] },
  compute: { name: 'nova', suffix: '/v2.1', types: ['compute'] },
  image: { name: 'glance', suffix: '', types: ['image'] },
  // openstackclient's volume commands look for block-storage or its alias volumev3.
  'block-storage': { name: 'cinder', suffix: '/v3', types: ['block-storage', 'volumev3'] },
  network: { name: 'neutron', suffix: '', types: ['network'] },
  placement: { name: 'placement', suffix: '', types: ['placement'] },
};

export const INTERFACES = ['public', 'internal', 'admin'] as const;

/** A region as the catalog lists it: its URL prefix and the services its backend serves. */
export interface CatalogRegion {
  name: string;
  /** '' for the first region, `/region/<name>` for the others. */
  prefix: string;
  /** Service names (generated/services.ts `name`); identity is listed in every region. */
  services: readonly string[];
}

/**
 * Makes the catalog match the config: each region, its services and their
 * endpoints. Endpoints the gateway seeded earlier for a region or service the
 * config no longer has are removed; those made through the API are left alone.
 */
export function seedCatalog(identity: IdentityService, regions: readonly CatalogRegion[]): void {
  const store = identity.store;
  store.tx(() => {
    const services = store.list<ServiceEntry>('service');
    const wanted = new Map<string, { region: string; serviceId: string; iface: string; url: string }>();
    for (const region of regions) {
      if (!store.get('region', region.name)) store.create<Region>('region', { id: region.name, description: '', parent_region_id: null }, null, `Duplicate region ${region.name}`);
      for (const s of SERVICES) {
        if (s.name !== 'identity' && !region.services.includes(s.name)) continue;
        const c = CATALOG[s.name]!;
        // Keystone is one for all regions: every region lists it at the gateway's root.
        const url = s.name === 'identity' ? `${s.prefix}${c.suffix}` : `${region.prefix}${s.prefix}${c.suffix}`;
        for (const type of c.types) {
          const name = type === 'volumev3' ? 'cinderv3' : c.name;
          let svc = services.find((x) => x.type === type && x.name === name);
          if (!svc) {
            svc = { id: newId(), type, name, enabled: true, description: '' };
            store.create('service', svc, null, 'duplicate service');
            services.push(svc);
          }
          for (const iface of INTERFACES) wanted.set(`${region.name} ${svc.id} ${iface}`, { region: region.name, serviceId: svc.id, iface, url });
        }
      }
    }
    for (const e of store.list<Endpoint>('endpoint')) {
      if (!e.managed) continue;
      const key = `${e.region_id} ${e.service_id} ${e.interface}`;
      const want = wanted.get(key);
      if (!want) store.delete('endpoint', e.id);
      else {
        if (e.url !== want.url) store.put<Endpoint>('endpoint', { ...e, url: want.url }, null, 'duplicate endpoint');
        wanted.delete(key);
      }
    }
    for (const w of wanted.values()) {
      store.create<Endpoint>('endpoint', {
        id: newId(), service_id: w.serviceId, region_id: w.region, interface: w.iface as Endpoint['interface'], url: w.url, enabled: true, managed: true,
      }, null, 'duplicate endpoint');
    }
  });
}

/** A stored URL as clients see it: relative ones hang off the gateway's public base. */
export function endpointUrl(url: string, publicBase: string): string {
  return url.startsWith('/') ? `${publicBase}${url}` : url;
}

export interface CatalogFilter {
  /** Endpoint ids a project may see (OS-EP-FILTER); all when undefined. */
  endpointIds?: Set<string>;
}

/** The v3 token catalog: services with their enabled endpoints. */
export function catalogV3(identity: IdentityService, publicBase: string, filter: CatalogFilter = {}) {
  const endpoints = identity.store.list<Endpoint>('endpoint').filter((e) => e.enabled && (!filter.endpointIds || filter.endpointIds.has(e.id)));
  return identity.store.list<ServiceEntry>('service')
    .filter((s) => s.enabled !== false)
    .map((s) => ({
      id: s.id,
      type: s.type,
      name: s.name ?? '',
      endpoints: endpoints.filter((e) => e.service_id === s.id).map((e) => ({
        id: e.id, interface: e.interface, region: e.region_id, region_id: e.region_id, url: endpointUrl(e.url, publicBase),
      })),
    }))
    .filter((s) => s.endpoints.length > 0);
}

/** The v2.0 token catalog: one entry per region with the three URLs. */
export function catalogV2(identity: IdentityService, publicBase: string) {
  return catalogV3(identity, publicBase).map((s) => {
    const regions = [...new Set(s.endpoints.map((e) => e.region_id))];
    return {
      type: s.type,
      name: s.name,
      endpoints_links: [],
      endpoints: regions.map((r) => {
        const url = (i: string) => s.endpoints.find((e) => e.region_id === r && e.interface === i)?.url;
        const pub = url('public');
        return { id: s.endpoints.find((e) => e.region_id === r)!.id, region: r, publicURL: pub, internalURL: url('internal') ?? pub, adminURL: url('admin') ?? pub };
      }),
    };
  });
}
