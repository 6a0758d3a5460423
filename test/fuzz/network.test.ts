/** Schema-driven fuzzing of Neutron (see test/helpers/fuzz.ts). */
import { fuzzSuite } from '../helpers/fuzz.js';

fuzzSuite('network', async (_h, { post }) => {
  const n = '/network/v2.0';
  const net = await post(`${n}/networks`, { network: { name: 'fuzz-net' } });
  const subnet = await post(`${n}/subnets`, { subnet: { network_id: net?.network?.id, cidr: '10.99.0.0/24', ip_version: 4, name: 'fuzz-subnet' } });
  await post(`${n}/ports`, { port: { network_id: net?.network?.id, name: 'fuzz-port' } });
  const router = await post(`${n}/routers`, { router: { name: 'fuzz-router' } });
  await post(`${n}/security-groups`, { security_group: { name: 'fuzz-sg' } });
  void subnet; void router;
});
