// Keeps secrets out of what the extension writes: its output channel and the LSP trace (which, at
// "verbose", prints every message's params and results). The endpoint's API key travels in one
// place only, the result of the aitk.inference.server.api-key command, as `"apiKey": "…"`; access
// tokens travel as `"token": "…"` in aitk/getToken answers. Both are masked by field name, and any
// key the extension has seen (rememberSecret) is masked wherever it appears.
import type * as vscode from 'vscode';

const MASK = '***';
const MIN_SECRET_LENGTH = 12;
const known = new Set<string>();

const PATTERNS: [RegExp, string][] = [
  // JSON fields, quoted as JSON.stringify writes them (the trace's Params/Result blocks)
  [/("(?:apiKey|api-key|token|accessToken|access_token)"\s*:\s*")(?:[^"\\]|\\.)*(")/gi, `$1${MASK}$2`],
  // HTTP headers and the like: Authorization: Bearer x, api-key: x
  [/(\bbearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${MASK}`],
  [/(\bapi-key\s*[:=]\s*)[^\s"',;]+/gi, `$1${MASK}`],
  // JWTs (Entra ID access tokens) wherever they appear
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, MASK],
];

/** Masks `value` from now on wherever redactSecrets sees it (e.g. a key read from SecretStorage). */
export function rememberSecret(value: string | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) known.add(value);
}

/** The text with every known secret and every secret-shaped field masked. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const value of known) out = out.split(value).join(MASK);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (value instanceof Error) {
    const copy = new Error(redactSecrets(value.message));
    copy.name = value.name;
    return copy;
  }
  return value;
}

const TEXT_METHODS = new Set(['append', 'appendLine', 'replace', 'trace', 'debug', 'info', 'warn', 'error']);

/**
 * The same channel, with every string written through it redacted. Give it to the language client
 * as `outputChannel` (and `traceOutputChannel`, which otherwise defaults to the output channel).
 */
export function redactingChannel<T extends vscode.OutputChannel>(channel: T): T {
  return new Proxy(channel, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (typeof property === 'string' && TEXT_METHODS.has(property)) {
        return (first: unknown, ...rest: unknown[]) =>
          (value as (...args: unknown[]) => unknown).apply(target, [redactValue(first), ...rest]);
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}
