/**
 * Neutron's extension list, which clients read to learn what a deployment
 * offers (Horizon hides or shows panels by alias; openstackclient checks
 * `security-group`, `router`…). Each backend lists the aliases it serves.
 */
import { Fault } from './faults.js';

export interface NeutronExtension { alias: string; name: string; description: string }

/** Neutron stamps every extension with a date; none of ours changes. */
const UPDATED = '2013-01-20T00:00:00-00:00';

function view(e: NeutronExtension) {
  return { ...e, updated: UPDATED, links: [] as never[] };
}

export function extensionList(extensions: readonly NeutronExtension[]) {
  return { extensions: extensions.map(view) };
}

export function extensionShow(extensions: readonly NeutronExtension[], alias: string) {
  const e = extensions.find((x) => x.alias === alias);
  if (!e) throw Fault.notFound(`Extension with alias ${alias} does not exist`, { type: 'HTTPNotFound' });
  return { extension: view(e) };
}
