/**
 * The services stackgate serves: the one table that names them, their URL
 * prefixes (devstack style), catalog types and microversion headers.
 * Codegen copies it into generated/services.ts so src/ never imports codegen/.
 */
import type { ServiceInfo } from './common.template.js';
export type { ServiceInfo };

export const SERVICES: readonly ServiceInfo[] = [
  {
    name: 'identity', id: 'identity', typeName: 'Identity', prefix: '/identity',
    catalogType: 'identity', classicPort: 5000, faultStyle: 'keystone',
  },
  {
    name: 'compute', id: 'compute', typeName: 'Compute', prefix: '/compute',
    catalogType: 'compute', classicPort: 8774, faultStyle: 'nova',
    microversion: { token: 'compute', legacyHeaders: ['X-OpenStack-Nova-API-Version'], defaultVersion: '2.1' },
  },
  {
    name: 'image', id: 'image', typeName: 'Image', prefix: '/image',
    catalogType: 'image', classicPort: 9292, faultStyle: 'glance',
  },
  {
    name: 'block-storage', id: 'volume', typeName: 'Volume', prefix: '/volume',
    catalogType: 'block-storage', classicPort: 8776, faultStyle: 'nova',
    microversion: { token: 'volume', legacyHeaders: [], defaultVersion: '3.0' },
  },
  {
    name: 'network', id: 'network', typeName: 'Network', prefix: '/network',
    catalogType: 'network', classicPort: 9696, faultStyle: 'neutron',
  },
  {
    name: 'placement', id: 'placement', typeName: 'Placement', prefix: '/placement',
    catalogType: 'placement', classicPort: 8778, faultStyle: 'placement',
    microversion: { token: 'placement', legacyHeaders: [], defaultVersion: '1.0' },
  },
];

export const SERVICE_NAMES = SERVICES.map((s) => s.name);
