/** Schema-driven fuzzing of Keystone (see test/helpers/fuzz.ts). */
import { fuzzSuite } from '../helpers/fuzz.js';

fuzzSuite('identity', async (_h, { post }) => {
  const p = '/identity/v3';
  await post(`${p}/domains`, { domain: { name: 'fuzz-domain' } });
  const project = await post(`${p}/projects`, { project: { name: 'fuzz-project', domain_id: 'default' } });
  const user = await post(`${p}/users`, { user: { name: 'fuzz-user', password: 'fuzz-password', domain_id: 'default', default_project_id: project?.project?.id } });
  const role = await post(`${p}/roles`, { role: { name: 'fuzz-role' } });
  await post(`${p}/groups`, { group: { name: 'fuzz-group', domain_id: 'default' } });
  await post(`${p}/regions`, { region: { id: 'fuzz-region' } });
  const service = await post(`${p}/services`, { service: { type: 'fuzz', name: 'fuzz-service' } });
  await post(`${p}/endpoints`, { endpoint: { service_id: service?.service?.id, interface: 'public', url: 'http://fuzz.example/', region_id: 'fuzz-region' } });
  await post(`${p}/credentials`, { credential: { user_id: user?.user?.id, project_id: project?.project?.id, type: 'ec2', blob: '{"access":"a","secret":"s"}' } });
  if (user?.user?.id && project?.project?.id && role?.role?.id) {
    await _h.request('PUT', `${p}/projects/${project.project.id}/users/${user.user.id}/roles/${role.role.id}`);
  }
});
