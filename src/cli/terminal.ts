/**
 * The one place that asks what kind of terminal we are in. Everything else takes the answer.
 */
export interface Terminal {
  /** A person is there to answer questions: stdin and stdout are both TTYs, outside CI. */
  interactive: boolean;
  /** stdout is a TTY (live output, realistic sim speed). */
  tty: boolean;
  /** Colours are wanted: a TTY and no NO_COLOR (https://no-color.org). */
  color: boolean;
  /** Width for tables. */
  columns: number;
}

export function terminal(
  env: NodeJS.ProcessEnv = process.env,
  stdin: { isTTY?: boolean } = process.stdin,
  stdout: { isTTY?: boolean; columns?: number } = process.stdout,
): Terminal {
  const tty = Boolean(stdout.isTTY);
  return {
    interactive: tty && Boolean(stdin.isTTY) && !isCI(env),
    tty,
    color: tty && !('NO_COLOR' in env && env.NO_COLOR !== '') && env.TERM !== 'dumb',
    columns: (tty && stdout.columns) || 100,
  };
}

/** CI services set `CI` (to `true`, `1` …); nobody answers questions there, even on a pseudo-terminal. */
function isCI(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}
