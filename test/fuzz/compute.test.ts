/** Schema-driven fuzzing of Nova (see test/helpers/fuzz.ts). */
import { fuzzSuite } from '../helpers/fuzz.js';
import { until } from '../helpers/gateway.js';

fuzzSuite('compute', async (h, { post }) => {
  const c = '/compute/v2.1';
  // Something to boot: an active image and a network.
  const image = await post('/image/v2/images', { name: 'fuzz-image', disk_format: 'raw', container_format: 'bare' });
  await h.request('PUT', `/image/v2/images/${image?.id}/file`, { raw: 'fuzz image data', headers: { 'content-type': 'application/octet-stream' } });
  const net = await post('/network/v2.0/networks', { network: { name: 'fuzz-net' } });
  await post('/network/v2.0/subnets', { subnet: { network_id: net?.network?.id, cidr: '10.98.0.0/24', ip_version: 4 } });
  await post(`${c}/os-keypairs`, { keypair: { name: 'fuzz-key' } });
  await post(`${c}/os-aggregates`, { aggregate: { name: 'fuzz-aggregate' } });
  await post(`${c}/os-server-groups`, { server_group: { name: 'fuzz-group', policies: ['affinity'] } });
  await post(`${c}/flavors`, { flavor: { name: 'fuzz-flavor', ram: 512, vcpus: 1, disk: 1 } });
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const s = await post(`${c}/servers`, { server: { name: `fuzz-server-${i}`, imageRef: image?.id, flavorRef: '1', networks: [{ uuid: net?.network?.id }] } });
    if (s?.server?.id) ids.push(s.server.id);
  }
  for (const id of ids) {
    await until(`server ${id} active`, async () => {
      const r = await h.request('GET', `${c}/servers/${id}`);
      return (r.json as { server?: { status?: string } })?.server?.status === 'BUILD' ? undefined : true;
    });
  }
});
