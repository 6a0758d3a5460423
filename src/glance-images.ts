/**
 * A Glance v2 image view of an image a backend keeps (a SoftLayer template, a
 * CloudStack template): its own fields, and what such images never have in
 * Glance's terms (hashes, virtual size, minimums, tags), with Glance's links.
 */

export interface BackendImage {
  id: string;
  name: string | null;
  status: string;
  visibility: string;
  protected: boolean;
  owner: string | null;
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  created_at: string;
}

export function backendImageView(i: BackendImage): Record<string, unknown> {
  return {
    id: i.id, name: i.name, status: i.status, visibility: i.visibility, protected: i.protected, os_hidden: false, owner: i.owner,
    disk_format: i.disk_format, container_format: i.container_format, size: i.size, virtual_size: null,
    checksum: null, os_hash_algo: null, os_hash_value: null, min_ram: 0, min_disk: 0,
    created_at: i.created_at, updated_at: i.created_at, tags: [],
    self: `/v2/images/${i.id}`, file: `/v2/images/${i.id}/file`, schema: '/v2/schemas/image',
  };
}
