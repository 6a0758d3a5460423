/**
 * Turns every error below it into the service's own fault body, so a client
 * never sees Koa's text errors or a stack trace. Unexpected errors are logged
 * with their stack and answered 500 without details.
 */
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { renderFault, toFault } from '../faults.js';
import type { GatewayState } from '../state.js';

export function faultHook(logger: Logger): Middleware<GatewayState> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const fault = toFault(err);
      if (fault.status >= 500 && fault.status !== 501) {
        logger.error({ requestId: ctx.state.requestId, err: fault.cause ?? fault, operation: ctx.state.operationId }, fault.message);
      }
      const r = renderFault(fault, ctx.state.service?.faultStyle ?? 'plain', {
        requestId: ctx.state.requestId, accept: ctx.get('accept'),
      });
      ctx.status = r.status;
      ctx.set(r.headers);
      ctx.type = r.contentType;
      ctx.body = ctx.method === 'HEAD' ? null : r.body;
      if (ctx.method === 'HEAD') ctx.status = r.status;
    }
  };
}
