// The extension's settings and commands, named once: package.json contributes the same ids (a unit
// test holds them together) and the tests import them from here.
export const CONFIG_SECTION = 'aitk.inference';

/** Keys under CONFIG_SECTION. */
export const CONFIG_KEYS = {
  python: 'python',
  tokenCommand: 'tokenCommand',
  armEndpoint: 'armEndpoint',
  caBundle: 'caBundle',
  cloud: 'cloud',
  traceServer: 'trace.server',
} as const;

/**
 * Settings that only take effect when the server process starts again. Every other setting is
 * read live: the server pulls its own through workspace/configuration, the extension reads the
 * rest when it needs them.
 */
export const RESTART_KEYS: readonly string[] = [CONFIG_KEYS.python];

export function fullKey(key: string): string {
  return `${CONFIG_SECTION}.${key}`;
}

export const COMMANDS = {
  provision: 'aitk.inference.provision',
  deploy: 'aitk.inference.deploy',
  status: 'aitk.inference.status',
  copyApiKey: 'aitk.inference.copyApiKey',
  createProjectFiles: 'aitk.inference.createProjectFiles',
  restartServer: 'aitk.inference.restartServer',
  logs: 'aitk.inference.logs',
  stop: 'aitk.inference.stop',
  start: 'aitk.inference.start',
  down: 'aitk.inference.down',
} as const;

export const SERVER_COMMANDS = {
  provision: 'aitk.inference.server.provision',
  deploy: 'aitk.inference.server.deploy',
  status: 'aitk.inference.server.status',
  apiKey: 'aitk.inference.server.api-key',
  logs: 'aitk.inference.server.logs',
  stop: 'aitk.inference.server.stop',
  start: 'aitk.inference.server.start',
  down: 'aitk.inference.server.down',
} as const;
