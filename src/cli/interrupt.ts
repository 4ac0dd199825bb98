/**
 * Ctrl-C. The first SIGINT (or SIGTERM) aborts the signal: waits stop, the runner saves the state
 * and the command ends with exit 130 and one line. A second one exits at once (everything written
 * so far was written atomically).
 */
export interface Interrupt {
  readonly signal: AbortSignal;
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
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
