/**
 * What Cinder adds to a volume view by microversion, the same for every
 * backend: group (3.13), shared targets and service (3.48), type id (3.63),
 * quota use (3.65), and for admins provider id (3.21) and cluster (3.61).
 */
import { atLeast } from './microversion.js';

export function volumeVersionFields(mv: string | null, volumeTypeId: string | null, admin = false): Record<string, unknown> {
  const f: Record<string, unknown> = {};
  if (atLeast(mv, '3.13')) f.group_id = null;
  if (admin && atLeast(mv, '3.21')) f.provider_id = null;
  if (atLeast(mv, '3.48')) { f.shared_targets = false; f.service_uuid = null; }
  if (admin && atLeast(mv, '3.61')) f.cluster_name = null;
  if (atLeast(mv, '3.63')) f.volume_type_id = volumeTypeId;
  if (atLeast(mv, '3.65')) f.consumes_quota = true;
  return f;
}
