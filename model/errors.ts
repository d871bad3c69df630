/**
 * A mistake the user can fix (bad manifest, unknown backup, wrong flag).
 * The CLI prints its message without a stack trace and exits with code 2.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** One problem in an input file, located by the dotted path of the field. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** Invalid input file: lists every problem found, each with its field path. */
export class ManifestError extends UserError {
  constructor(
    readonly file: string,
    readonly problems: FieldProblem[],
  ) {
    super(
      `${file}: ${problems.length === 1 ? 'invalid manifest' : `${problems.length} problems`}\n` +
        problems.map((p) => `  - ${p.path || '(top level)'}: ${p.message}`).join('\n'),
    );
  }
}

/** The innermost message of a failure chain: what actually went wrong, without the wrappers. */
export function rootMessage(err: Error): string {
  let cause: Error = err;
  while (cause.cause instanceof Error) cause = cause.cause;
  return cause.message;
}
