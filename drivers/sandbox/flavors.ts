/** The sandbox's flavors: the classic m1 set devstack creates, seeded into the store, where admins add more. */
import { Fault } from '../../src/faults.js';
import type { Resource, SandboxStore } from './store.js';

export interface SandboxFlavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  ephemeral: number;
  swap: number;
  rxtxFactor: number;
  isPublic: boolean;
  disabled: boolean;
  description: string | null;
  extraSpecs: Record<string, string>;
}

const m1 = (id: string, name: string, vcpus: number, ram: number, disk: number): SandboxFlavor => ({
  id, name, vcpus, ram, disk, ephemeral: 0, swap: 0, rxtxFactor: 1, isPublic: true, disabled: false,
  description: null, extraSpecs: {},
});

export const BUILTIN_FLAVORS: readonly SandboxFlavor[] = [
  m1('1', 'm1.tiny', 1, 512, 1),
  m1('2', 'm1.small', 1, 2048, 20),
  m1('3', 'm1.medium', 2, 4096, 40),
  m1('4', 'm1.large', 4, 8192, 80),
  m1('5', 'm1.xlarge', 8, 16384, 160),
  m1('42', 'm1.nano', 1, 128, 1),
  m1('84', 'm1.micro', 1, 192, 1),
];

// ---- flavors in the store ---------------------------------------------------


/** A flavor as the sandbox keeps it (kind `flavor`, id = Nova's flavorid). */
export interface FlavorRecord extends Resource, SandboxFlavor {
  name: string;
  /** Projects a private flavor is shared with (os-flavor-access). */
  access: string[];
}

/** Seeds the built-in flavors once per store (deleting one later keeps it deleted). */
export function seedFlavors(store: SandboxStore): void {
  if (store.get('sandbox_meta', 'flavors-seeded')) return;
  store.tx(() => {
    if (store.get('sandbox_meta', 'flavors-seeded')) return;
    const now = new Date(0).toISOString();
    for (const f of BUILTIN_FLAVORS) {
      if (!store.get('flavor', f.id)) store.insert<FlavorRecord>('flavor', { ...f, extraSpecs: { ...f.extraSpecs }, project_id: null, access: [], created_at: now, updated_at: now });
    }
    store.insert('sandbox_meta', { id: 'flavors-seeded', project_id: null, created_at: now, updated_at: now });
  });
}

/** Every flavor, seeded on first use. */
export function allFlavors(store: SandboxStore): FlavorRecord[] {
  seedFlavors(store);
  return store.list<FlavorRecord>('flavor');
}

/** A flavor by id, or Nova's 404. */
export function getFlavor(store: SandboxStore, id: string): FlavorRecord {
  seedFlavors(store);
  const f = store.get<FlavorRecord>('flavor', id);
  if (!f) throw Fault.notFound(`Flavor ${id} could not be found.`);
  return f;
}

/** May this project use the flavor (public, shared with it, or admin)? */
export function flavorVisible(f: FlavorRecord, projectId: string, isAdmin: boolean): boolean {
  return f.isPublic || isAdmin || f.access.includes(projectId);
}
