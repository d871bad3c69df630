/** The innermost message of a failure chain: what actually went wrong, without the wrappers. */
export function rootMessage(err: Error): string {
  let cause: Error = err;
  while (cause.cause instanceof Error) cause = cause.cause;
  return cause.message;
}
