/** Access log: one JSON line per request, after the answer, secrets redacted by the logger. */
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { GatewayState } from '../state.js';

export function accessLogHook(logger: Logger): Middleware<GatewayState> {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const level = ctx.status >= 500 ? 'error' : 'info';
      logger[level]({
        requestId: ctx.state.requestId,
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        operation: ctx.state.operationId,
        project: ctx.state.auth?.projectId,
        ms: Math.round(ms * 10) / 10,
      }, 'request');
    }
  };
}
