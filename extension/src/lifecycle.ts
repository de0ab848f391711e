// Crash-restart policy and the wait for running commands before a restart (no language-client
// imports: unit-testable).

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

/**
 * Counts the server commands in flight, so a restart (a new interpreter, the Restart command)
 * waits for them instead of killing a deploy halfway: `whenIdle` runs its callback at once when
 * nothing runs, else when the last running command ends. Several requests collapse into one.
 */
export class RunningCommands {
  private readonly running = new Set<string>();
  private pending: (() => void) | undefined;

  get names(): string[] {
    return [...this.running];
  }

  async track<T>(name: string, work: () => Promise<T>): Promise<T> {
    const id = `${name}#${Math.random()}`;
    this.running.add(id);
    try {
      return await work();
    } finally {
      this.running.delete(id);
      if (this.running.size === 0 && this.pending) {
        const run = this.pending;
        this.pending = undefined;
        run();
      }
    }
  }

  /** Runs `fn` once idle; returns the names of the commands it waits for (empty: ran now). */
  whenIdle(fn: () => void): string[] {
    if (this.running.size === 0) {
      fn();
      return [];
    }
    this.pending = fn;
    return [...this.running].map((id) => id.split('#')[0] ?? id);
  }
}
