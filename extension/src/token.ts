// Azure access tokens for the server's `aitk/getToken`: from a token command (az-style JSON) when
// one is configured, else from VS Code's built-in Microsoft authentication provider.
import { type ExecResult, execProcess } from './exec';

export const TOKEN_COMMAND_TIMEOUT_MS = 120_000;

export interface TokenResult {
  token: string;
  /** Expiry as epoch seconds. */
  expiresOn: number;
}

function firstString(obj: Record<string, unknown>, keys: string[]): string | undefined {
  for (const key of keys) {
    const v = obj[key];
    if (typeof v === 'string' && v) return v;
  }
  return undefined;
}

/**
 * Parses the output of `az account get-access-token --output json` (or anything printing the same
 * shape). `expires_on` (epoch seconds) is preferred; older az prints only `expiresOn` as local time.
 */
export function parseTokenOutput(stdout: string, source: string): TokenResult {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    throw new Error(`The token command (${source}) did not print JSON; it should print what "az account get-access-token --output json" prints.`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`The token command (${source}) printed JSON that is not an object.`);
  }
  const obj = data as Record<string, unknown>;
  const token = firstString(obj, ['accessToken', 'access_token', 'token']);
  if (!token) throw new Error(`The token command (${source}) printed no "accessToken".`);
  let expiresOn: number | undefined;
  for (const key of ['expires_on', 'expiresOn', 'expires_at']) {
    const v = obj[key];
    if (typeof v === 'number' && Number.isFinite(v)) expiresOn = v;
    else if (typeof v === 'string' && /^\d+$/.test(v.trim())) expiresOn = Number(v.trim());
    else if (typeof v === 'string') {
      const ms = Date.parse(v.trim().replace(' ', 'T'));
      if (!Number.isNaN(ms)) expiresOn = Math.floor(ms / 1000);
    }
    if (expiresOn !== undefined) break;
  }
  if (expiresOn === undefined) throw new Error(`The token command (${source}) printed no "expires_on".`);
  // Some tools print milliseconds.
  if (expiresOn > 1e12) expiresOn = Math.floor(expiresOn / 1000);
  return { token, expiresOn };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `{scopes}` in the command becomes the requested scopes, shell-quoted. */
export function buildTokenCommand(template: string, scopes: string[]): string {
  return template.split('{scopes}').join(scopes.map(shellQuote).join(' '));
}

export type Runner = (command: string, env: NodeJS.ProcessEnv) => Promise<ExecResult>;

export const shellRunner: Runner = (command, env) => execProcess(command, [], { shell: true, env, timeoutMs: TOKEN_COMMAND_TIMEOUT_MS });

/** Runs the token command; the tenant (when the server names one) is in AITK_TOKEN_TENANT. */
export async function runTokenCommand(template: string, scopes: string[], run: Runner = shellRunner, tenantId?: string): Promise<TokenResult> {
  const command = buildTokenCommand(template, scopes);
  // The command is named in messages by its program only: arguments could carry secrets.
  const source = `"${template.trim().split(/\s+/)[0] ?? ''}"`;
  let out;
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, AITK_TOKEN_SCOPES: scopes.join(' ') };
    delete env.AITK_TOKEN_TENANT; // only ever the tenant asked for now
    if (tenantId) env.AITK_TOKEN_TENANT = tenantId;
    out = await run(command, env);
  } catch (err) {
    throw new Error(`The token command ${source} could not be started: ${(err as Error).message}`);
  }
  if (out.timedOut) throw new Error(`The token command ${source} did not finish within ${TOKEN_COMMAND_TIMEOUT_MS / 1000} s.`);
  if (out.code !== 0) {
    const detail = out.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 500);
    throw new Error(`The token command ${source} failed (exit code ${String(out.code)})${detail ? `: ${detail}` : '.'}`);
  }
  return parseTokenOutput(out.stdout, source);
}

/** Expiry from the JWT's `exp` claim; VS Code's sessions do not expose it. */
export function jwtExpiry(token: string, fallbackSeconds: number): number {
  const payload = token.split('.')[1];
  if (payload) {
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
      if (typeof claims.exp === 'number') return claims.exp;
    } catch {
      // opaque token: fall through
    }
  }
  return Math.floor(Date.now() / 1000) + fallbackSeconds;
}

export interface TokenSources {
  /** Configured token command (setting, else AITK_AZURE_TOKEN_COMMAND), if any. */
  tokenCommand(): string | undefined;
  /** VS Code's Microsoft account session access token. */
  microsoftSession(scopes: string[]): Promise<string | undefined>;
  run?: Runner;
}

export function parseScopes(raw: unknown): string[] {
  const scopes = typeof raw === 'object' && raw !== null ? (raw as { scopes?: unknown }).scopes : undefined;
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string')) {
    throw new Error('aitk/getToken needs {scopes: string[]} with at least one scope.');
  }
  return scopes as string[];
}

const TENANT_ID = /^[0-9a-zA-Z.-]{1,256}$/; // a GUID or a domain name, nothing a shell or scope could misread

/** The optional `tenantId` of aitk/getToken: the subscription's tenant. */
export function parseTenant(raw: unknown): string | undefined {
  const tenant = typeof raw === 'object' && raw !== null ? (raw as { tenantId?: unknown }).tenantId : undefined;
  if (tenant === undefined || tenant === null) return undefined;
  if (typeof tenant !== 'string' || !TENANT_ID.test(tenant)) throw new Error('aitk/getToken: tenantId must be a tenant ID (a GUID) or domain.');
  return tenant;
}

/** VS Code's scopes for a token in `tenantId` (its Microsoft account provider reads VSCODE_TENANT). */
export function sessionScopes(scopes: string[], tenantId: string | undefined): string[] {
  return tenantId ? [...scopes, `VSCODE_TENANT:${tenantId}`] : scopes;
}

/** VS Code's sign-in for the cloud: its sovereign-cloud provider (set up with the
 * "microsoft-sovereign-cloud.environment" setting) for the national clouds. */
export function authProvider(cloud: string | undefined): string {
  return cloud === 'AzureUSGovernment' || cloud === 'AzureChinaCloud' ? 'microsoft-sovereign-cloud' : 'microsoft';
}

export async function getToken(rawParams: unknown, sources: TokenSources): Promise<TokenResult> {
  const scopes = parseScopes(rawParams);
  const tenantId = parseTenant(rawParams);
  const command = sources.tokenCommand()?.trim();
  if (command) return runTokenCommand(command, scopes, sources.run, tenantId);
  const accessToken = await sources.microsoftSession(sessionScopes(scopes, tenantId));
  if (!accessToken) throw new Error('No Microsoft account session: sign in to use Azure.');
  return { token: accessToken, expiresOn: jwtExpiry(accessToken, 30 * 60) };
}
