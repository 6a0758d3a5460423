/** Schema-driven fuzzing of Cinder (see test/helpers/fuzz.ts). */
import { fuzzSuite } from '../helpers/fuzz.js';
import { until } from '../helpers/gateway.js';

fuzzSuite('block-storage', async (h, { post, projectId }) => {
  const v = `/volume/v3/${projectId}`;
  await post(`${v}/types`, { volume_type: { name: 'fuzz-type' } });
  const vols: string[] = [];
  for (let i = 0; i < 3; i++) {
    const vol = await post(`${v}/volumes`, { volume: { size: 1, name: `fuzz-volume-${i}` } });
    if (vol?.volume?.id) vols.push(vol.volume.id);
  }
  for (const id of vols) {
    await until(`volume ${id} available`, async () => {
      const r = await h.request('GET', `${v}/volumes/${id}`);
      return (r.json as { volume?: { status?: string } })?.volume?.status === 'creating' ? undefined : true;
    });
  }
  if (vols[0]) {
    await post(`${v}/snapshots`, { snapshot: { volume_id: vols[0], name: 'fuzz-snapshot', force: true } });
    await post(`${v}/backups`, { backup: { volume_id: vols[0], name: 'fuzz-backup', force: true } });
  }
  if (vols[1]) {
    // An attachment to aim the attachment operations (3.27+) at.
    await post(`${v}/attachments`, { attachment: { volume_uuid: vols[1] } }, { 'openstack-api-version': 'volume 3.27' });
  }
});
