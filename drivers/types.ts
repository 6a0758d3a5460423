/**
 * What a backend module provides: one driver per service it serves, built
 * from the gateway's config. Drivers hold backend logic only; HTTP,
 * validation, faults, microversions, auth and paging live in src/.
 */
import type {
  ComputeDriver, IdentityDriver, ImageDriver, NetworkDriver, PlacementDriver, VolumeDriver,
} from '../generated/index.js';
import type { Config } from '../src/config.js';
import type { Logger } from 'pino';
import type { Store } from '../src/store/store.js';

/** Driver interfaces by service id (generated/services.ts `id`). */
export interface DriverSet {
  identity: IdentityDriver;
  compute: ComputeDriver;
  image: ImageDriver;
  volume: VolumeDriver;
  network: NetworkDriver;
  placement: PlacementDriver;
}

export type ServiceId = keyof DriverSet;

/** A driver class, for the matrix: it reads the prototype, it does not instantiate. */
// The constructor arguments differ per backend; the matrix never calls them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DriverClass<D> = abstract new (...args: any[]) => D;

export interface Backend {
  readonly drivers: Partial<DriverSet>;
  close(): Promise<void>;
}

export interface BackendContext {
  config: Config;
  logger: Logger;
  /** The gateway's store (SQLite, or PostgreSQL when scaled out), for backends that keep state. */
  store: Store;
}

export interface BackendModule {
  readonly name: string;
  readonly description: string;
  /** Driver classes by service: what the matrix reads. */
  readonly classes: { readonly [S in ServiceId]?: DriverClass<DriverSet[S]> };
  /** What the backend leaves unimplemented (501) and why, one line each: the matrix prints them. */
  readonly notes?: readonly string[];
  /** Microversions served, where narrower than the spec's. */
  readonly microversions?: Partial<Record<'compute' | 'volume' | 'placement', { min?: string; max?: string }>>;
  create(ctx: BackendContext): Promise<Backend>;
}
