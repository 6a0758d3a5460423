/** Starts a gateway in this process on 127.0.0.1 with a free port. */
import { createGateway, type Gateway } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { BackendModule } from '../../drivers/types.js';

export interface Harness {
  gateway: Gateway;
  url: string;
  request(method: string, path: string, init?: { headers?: Record<string, string>; body?: unknown; raw?: string }): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

export async function startGateway(overrides: Record<string, unknown> = {}, backend?: BackendModule): Promise<Harness> {
  const config = loadConfig({ overrides: { listen: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' }, ...overrides } });
  const gateway = await createGateway({ config, logger: createLogger("silent"), ...(backend ? { backend: { module: backend, backend: await backend.create({ config, logger: createLogger("silent") }) } } : {}) });
  const url = await gateway.listen(0, '127.0.0.1');
  return {
    gateway,
    url,
    async request(method, path, init = {}) {
      const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
      let body: string | undefined;
      if (init.raw !== undefined) body = init.raw;
      else if (init.body !== undefined) {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let json: unknown;
      try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
      return { status: res.status, headers: res.headers, text, json };
    },
    close: () => gateway.close(),
  };
}
