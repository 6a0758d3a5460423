/**
 * Version discovery documents. keystoneauth and openstacksdk fetch these
 * before anything else to find the endpoint and microversion range, so they
 * are always served by the gateway, whatever the driver implements.
 */
import type { ServiceInfo } from '../generated/common.js';
import type { VersionRange } from './microversion.js';

export interface DiscoveryDoc {
  status: number;
  body: unknown;
}

/** What a document is built from: where the service lives and what it serves. */
export interface DiscoveryInput {
  service: ServiceInfo;
  /** `http://host:port/compute`: the service root, no trailing slash */
  root: string;
  /** Upstream spec version: `2.104`, `3.14`, `2.16` … */
  specVersion: string;
  /** Negotiable microversions (spec ∩ driver), for services that have them. */
  range: VersionRange | null;
}

// Dates the real services publish for each major version.
const UPDATED = {
  compute: '2013-07-23T11:33:21Z',
  identity: '2020-04-07T00:00:00Z',
  volume: '2023-08-31T00:00:00Z',
  image: '2024-09-16T00:00:00Z',
};

function link(href: string, rel = 'self') {
  return { rel, href };
}

function computeVersion({ root, range }: DiscoveryInput, withMedia: boolean) {
  const v = {
    id: 'v2.1', status: 'CURRENT', version: range?.max ?? '', min_version: range?.min ?? '',
    updated: UPDATED.compute, links: [link(`${root}/v2.1/`)] as { rel: string; href: string; type?: string }[],
  };
  if (!withMedia) return v;
  v.links.push({ rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' });
  return { ...v, 'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }] };
}

function identityVersion({ root, specVersion }: DiscoveryInput) {
  return {
    id: `v${specVersion}`, status: 'stable', updated: UPDATED.identity,
    links: [link(`${root}/v3/`)],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

function volumeVersion({ root, range }: DiscoveryInput) {
  return {
    id: 'v3.0', status: 'CURRENT', version: range?.max ?? '', min_version: range?.min ?? '',
    updated: UPDATED.volume,
    links: [link(`${root}/v3/`), { rel: 'describedby', type: 'text/html', href: 'https://docs.openstack.org/' }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.volume+json;version=3' }],
  };
}

/** Glance lists every v2 minor it speaks, the newest CURRENT. */
function imageVersions({ root, specVersion }: DiscoveryInput) {
  const [major, minor] = specVersion.split('.').map(Number) as [number, number];
  const out = [];
  for (let m = minor; m >= 0; m--) {
    out.push({ id: `v${major}.${m}`, status: m === minor ? 'CURRENT' : 'SUPPORTED', links: [link(`${root}/v2/`)] });
  }
  return out;
}

/** `GET <prefix>/`: the list of versions. Keystone and Glance answer 300 Multiple Choices. */
export function versionList(input: DiscoveryInput): DiscoveryDoc {
  const { service, root, range } = input;
  switch (service.name) {
    case 'identity':
      // v2.0 is still served for old clients (src/identity/v2.ts), as deprecated.
      return { status: 300, body: { versions: { values: [identityVersion(input), {
        id: 'v2.0', status: 'deprecated', updated: '2016-08-04T00:00:00Z', links: [link(`${root}/v2.0/`)],
        'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v2.0+json' }],
      }] } } };
    case 'compute':
      return { status: 200, body: { versions: [computeVersion(input, false)] } };
    case 'image':
      return { status: 300, body: { versions: imageVersions(input) } };
    case 'block-storage':
      return { status: 300, body: { versions: [volumeVersion(input)] } };
    case 'network':
      return { status: 200, body: { versions: [{ id: 'v2.0', status: 'CURRENT', links: [link(`${root}/v2.0/`)] }] } };
    case 'placement':
      return {
        status: 200,
        body: { versions: [{ id: 'v1.0', status: 'CURRENT', min_version: range?.min ?? '1.0', max_version: range?.max ?? '', links: [link('')] }] },
      };
    default:
      return { status: 404, body: null };
  }
}

/** `GET <prefix>/v3`, `/v2.1/` …: the current version alone. */
export function currentVersion(input: DiscoveryInput): DiscoveryDoc {
  switch (input.service.name) {
    case 'identity':
      return { status: 200, body: { version: identityVersion(input) } };
    case 'compute':
      return { status: 200, body: { version: computeVersion(input, true) } };
    case 'block-storage':
      return { status: 200, body: { versions: [volumeVersion(input)] } };
    case 'image':
      return { status: 200, body: { versions: imageVersions(input) } };
    case 'placement':
      return versionList(input);
    case 'network':
      return { status: 200, body: { resources: NEUTRON_RESOURCES.map(([name, collection]) => ({ name, collection, links: [link(`${input.root}/v2.0/${collection}`)] })) } };
    default:
      return { status: 404, body: null };
  }
}

/** Neutron's `GET /v2.0/` lists its core resources. */
const NEUTRON_RESOURCES: [string, string][] = [
  ['subnet', 'subnets'], ['network', 'networks'], ['port', 'ports'], ['subnetpool', 'subnetpools'],
];

/**
 * Version documents the specs do not list but clients fetch: served at these
 * paths under the service prefix, as list or current version.
 */
export const EXTRA_DISCOVERY_PATHS: Record<string, { path: string; doc: 'list' | 'current' }[]> = {
  compute: [{ path: '/', doc: 'list' }],
  image: [{ path: '/', doc: 'list' }, { path: '/versions', doc: 'current' }],
  'block-storage': [{ path: '/', doc: 'list' }],
  network: [{ path: '/', doc: 'list' }, { path: '/v2.0/', doc: 'current' }],
  identity: [],
  placement: [],
};
