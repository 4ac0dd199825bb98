/**
 * Ctrl-C. The first SIGINT (or SIGTERM) aborts the signal: waits stop, the runner saves the state
 * and the command ends with exit 130 and one line. A second one exits at once (everything written
 * so far was written atomically). At a question the terminal is in raw mode and Ctrl-C is a key,
 * not a signal: the prompt is cancelled, and the caller calls `abort()` to the same effect.
 */
export interface Interrupt {
  readonly signal: AbortSignal;
  /** As the first Ctrl-C. */
  abort(): void;
  dispose(): void;
}

export function onInterrupt(): Interrupt {
  const controller = new AbortController();
  const handler = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
