/** The generated operation tables, by service name. */
import type { OperationRow, ServiceSpecInfo } from '../generated/common.js';
import * as g from '../generated/index.js';

export interface ServiceTable {
  operations: readonly OperationRow[];
  spec: ServiceSpecInfo;
}

export const TABLES: Record<string, ServiceTable> = {
  identity: { operations: g.identityOperations, spec: g.identitySpec },
  compute: { operations: g.computeOperations, spec: g.computeSpec },
  image: { operations: g.imageOperations, spec: g.imageSpec },
  'block-storage': { operations: g.volumeOperations, spec: g.volumeSpec },
  network: { operations: g.networkOperations, spec: g.networkSpec },
  placement: { operations: g.placementOperations, spec: g.placementSpec },
};
