// Crash-restart policy and the server's environment (no language-client imports: unit-testable).
import type * as vscode from 'vscode';
import { trustedValue } from './trustedSettings';

/** Crashes tolerated within RESTART_WINDOW_MS before the server is left stopped. */
export const MAX_RESTARTS = 3;
export const RESTART_WINDOW_MS = 3 * 60_000;

/** Decides restart vs. give up from the recent crash times (kept testable without a client). */
export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    private readonly max = MAX_RESTARTS,
    private readonly windowMs = RESTART_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a crash; true when the server should be restarted. */
  shouldRestart(): boolean {
    const t = this.now();
    this.crashes = this.crashes.filter((c) => t - c < this.windowMs);
    this.crashes.push(t);
    return this.crashes.length <= this.max;
  }

  reset(): void {
    this.crashes = [];
  }
}

/** The server's environment: the trusted cloud, ARM endpoint and CA bundle settings (user scope only). */
export function serverEnvironment(config: Pick<vscode.WorkspaceConfiguration, 'inspect'>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1' };
  const cloud = trustedValue(config, 'cloud');
  if (cloud) env.AZURE_CLOUD = cloud;
  const arm = trustedValue(config, 'armEndpoint');
  if (arm) env.AZURE_RESOURCE_MANAGER_ENDPOINT = arm;
  const ca = trustedValue(config, 'caBundle');
  if (ca) {
    env.REQUESTS_CA_BUNDLE = ca;
    env.SSL_CERT_FILE = ca;
  }
  return env;
}
