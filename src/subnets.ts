/**
 * What a backend subnet (a SoftLayer subnet, a CloudStack network) looks like
 * to Neutron: gateway and allocation pool from its CIDR, with ipaddr.js doing
 * the address math. Shared by the backends that only read subnets.
 */
import ipaddr from 'ipaddr.js';

export interface Ipv4Allocation {
  gateway_ip: string;
  allocation_pools: { start: string; end: string }[];
}

function toInt(a: ipaddr.IPv4): number {
  return a.toByteArray().reduce((n, o) => n * 256 + o, 0);
}

function fromInt(n: number): string {
  return ipaddr.fromByteArray([24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256)).toString();
}

/**
 * An IPv4 subnet's gateway (the one given, else the first host address) and
 * one allocation pool from after the gateway to before the broadcast address
 * (the backends keep network, gateway and broadcast); no pool for /30 and smaller.
 */
export function ipv4Allocation(network: string, prefix: number, gateway?: string | null): Ipv4Allocation {
  const first = toInt(ipaddr.IPv4.networkAddressFromCIDR(`${network}/${prefix}`));
  const size = 2 ** (32 - prefix);
  const gw = gateway ?? fromInt(first + 1);
  const pools = size > 4 ? [{ start: fromInt(toInt(ipaddr.IPv4.parse(gw)) + 1), end: fromInt(first + size - 2) }] : [];
  return { gateway_ip: gw, allocation_pools: pools };
}
