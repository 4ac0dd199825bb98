/**
 * The project's one error type for expected failures. An AcrTrustError prints its message and hint
 * and exits with its code. Anything else that reaches the CLI's top is explained by its kind when
 * the machine or the network failed (src/cli/failures.ts), else it is a bug and the CLI asks for a
 * report in one line — never a stack trace.
 *
 * Exit codes: 1 a step or the cloud refused (state saved, resumable); 2 bad usage or input;
 * 3 `verify` found a step not holding; 130 interrupted.
 */
export type ExitCode = 1 | 2 | 3 | 130;

export class AcrTrustError extends Error {
  override readonly name = 'AcrTrustError';
  constructor(
    message: string,
    readonly options: {
      exitCode?: ExitCode;
      /** What the user can do about it. */
      hint?: string;
      /** ARM's error code, kept when the failure came from Azure. */
      code?: string;
      /** HTTP status of the failed cloud call, if any. */
      statusCode?: number;
      /** A documentation link. */
      link?: string;
    } = {},
  ) {
    super(message);
  }
  get exitCode(): ExitCode {
    return this.options.exitCode ?? 1;
  }
  get code(): string | undefined {
    return this.options.code;
  }
  get hint(): string | undefined {
    return this.options.hint;
  }
}

/** Bad flags, bad files, bad names: exit code 2. */
export function usageError(message: string, hint?: string): AcrTrustError {
  return new AcrTrustError(message, { exitCode: 2, hint });
}

export function isAcrTrustError(e: unknown): e is AcrTrustError {
  return e instanceof Error && e.name === 'AcrTrustError';
}
