/**
 * Request ids: every answer carries `x-openstack-request-id: req-<uuid>`.
 * A well-formed id sent by the caller is kept (a gateway in front of us, or a
 * client correlating calls); anything else is replaced.
 */
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { GatewayState } from '../state.js';

const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function requestIdHook(): Middleware<GatewayState> {
  return async (ctx, next) => {
    const incoming = ctx.get('x-openstack-request-id');
    const id = REQUEST_ID.test(incoming) ? incoming : `req-${randomUUID()}`;
    ctx.state.requestId = id;
    ctx.set('x-openstack-request-id', id);
    // Nova and Cinder also answer the older compute header.
    if (ctx.path.startsWith('/compute') || ctx.path.startsWith('/volume')) ctx.set('x-compute-request-id', id);
    await next();
  };
}
