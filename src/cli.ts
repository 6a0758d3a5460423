#!/usr/bin/env node
/**
 * The `stackgate` command.
 *
 *   stackgate serve [--config FILE] [--host H] [--port N] [--backend NAME]
 *   stackgate matrix [--out DIR]
 *   stackgate help [COMMAND]
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { createGateway } from './app.js';

interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'start the gateway',
    usage: `stackgate serve [--config FILE] [--host HOST] [--port PORT] [--backend NAME]

Starts the gateway on HOST:PORT (default 127.0.0.1:8000) with the backend the
config names (default: sandbox). Prints the URL once it listens.

  --config FILE    YAML config file (env STACKGATE_CONFIG)
  --host HOST      listen address (default 127.0.0.1)
  --port PORT      listen port; 0 picks a free one
  --backend NAME   backend to serve (sandbox)`,
    async run(argv) {
      const { values } = parseArgs({
        args: argv,
        options: {
          config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, backend: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
      if (values.help) return help('serve');
      const overrides: Record<string, unknown> = {};
      if (values.host || values.port) {
        overrides.listen = {
          ...(values.host ? { host: values.host } : {}),
          ...(values.port !== undefined ? { port: Number(values.port) } : {}),
        };
      }
      if (values.backend) overrides.backend = values.backend;
      const config = loadConfig({ file: values.config ?? process.env.STACKGATE_CONFIG, env: process.env, overrides });
      const t0 = performance.now();
      const gw = await createGateway({ config });
      const url = await gw.listen();
      gw.logger.info({ url, backend: config.backend, ms: Math.round(performance.now() - t0) }, 'listening');
      process.stdout.write(`stackgate: listening on ${url} (backend ${config.backend}, ${Math.round(performance.now() - t0)} ms)\n`);
      const stop = async () => {
        await gw.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
      return new Promise<number>(() => {}); // runs until a signal
    },
  },
  matrix: {
    summary: 'write the compatibility matrix (reports/matrix.*)',
    usage: `stackgate matrix [--out DIR]

Computes the compatibility matrix from the generated operation tables and the
driver classes and writes matrix.json, matrix.md and matrix.html to DIR
(default reports/).`,
    async run(argv) {
      const { values } = parseArgs({ args: argv, options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
      if (values.help) return help('matrix');
      const { matrixFiles } = await import('../scripts/matrix.js');
      const { mkdirSync, writeFileSync } = await import('node:fs');
      const { join, resolve } = await import('node:path');
      const dir = resolve(values.out ?? 'reports');
      mkdirSync(dir, { recursive: true });
      for (const [name, text] of await matrixFiles()) writeFileSync(join(dir, name), text);
      process.stdout.write(`stackgate: wrote matrix.json, matrix.md, matrix.html to ${dir}\n`);
      return 0;
    },
  },
};

function help(name?: string): number {
  if (name && COMMANDS[name]) {
    process.stdout.write(`${COMMANDS[name]!.usage}\n`);
    return 0;
  }
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  process.stdout.write(`stackgate: OpenStack APIs in front of clouds that are not OpenStack\n\nusage: stackgate <command> [options]\n\ncommands:\n${lines.join('\n')}\n  help       this text; \`stackgate <command> --help\` for one command\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') return help(rest[0]);
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`stackgate: unknown command "${name}"\n`);
    help();
    return 2;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`stackgate: ${err.message}\n`);
    else process.stderr.write(`stackgate: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
