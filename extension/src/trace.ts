// LSP message tracing goes to its own log channel, "AI Toolkit Trace" (on when its log level is
// Trace; `aitk.inference.trace.server` chooses messages or verbose), through a filter: the client traces its answer to aitk/getToken, and that answer is a token.
import type * as vscode from 'vscode';

const SECRET_KEYS = /("(?:token|accessToken|access_token|refresh_token|id_token)"\s*:\s*)"(?:[^"\\]|\\.)*"/g;
// A JWT anywhere else (three base64url parts, the first one a JSON header).
const JWT = /\beyJ[\w-]+\.[\w-]+\.[\w-]*/g;
export const REDACTED = '<redacted>';

export function redactTrace(text: string): string {
  return text.replace(SECRET_KEYS, `$1"${REDACTED}"`).replace(JWT, REDACTED);
}

const WRITERS = new Set<PropertyKey>(['append', 'appendLine', 'replace', 'trace', 'debug', 'info', 'warn', 'error']);

/** The same channel, with every string written to it passed through redactTrace. */
export function redactingChannel(channel: vscode.LogOutputChannel): vscode.LogOutputChannel {
  return new Proxy(channel, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      const fn = (v as (...a: unknown[]) => unknown).bind(target);
      if (!WRITERS.has(prop)) return fn;
      return (...args: unknown[]) => fn(...args.map((a) => (typeof a === 'string' ? redactTrace(a) : a)));
    },
  });
}
