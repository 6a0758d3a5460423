/**
 * The backends stackgate knows. Adding a backend is one line here; modules
 * load lazily so a gateway only loads the one its config names.
 */
import type { BackendModule } from './types.js';
import { ConfigError } from '../src/config.js';

export const BACKENDS = {
  sandbox: () => import('./sandbox/index.js'),
  softlayer: () => import('./softlayer/index.js'),
  cloudstack: () => import('./cloudstack/index.js'),
  openstack: () => import('./openstack/index.js'),
} as const satisfies Record<string, () => Promise<{ default: BackendModule }>>;

export type BackendName = keyof typeof BACKENDS;

export function isBackendName(name: string): name is BackendName {
  return Object.hasOwn(BACKENDS, name);
}

export async function loadBackendModule(name: string): Promise<BackendModule> {
  if (!isBackendName(name)) {
    throw new ConfigError(`backend: unknown backend "${name}"; known: ${Object.keys(BACKENDS).join(', ')}`);
  }
  return (await BACKENDS[name]()).default;
}
