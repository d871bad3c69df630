import { readFileSync } from 'node:fs';
import { UserError } from '../../model/errors';
import type { SecretRef } from '../../model/manifest';

/** Reads a secret where the worker runs, so its value never enters a workflow's history. */
export function resolveSecret(ref: SecretRef | undefined): string | undefined {
  if (!ref) return undefined;
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (value === undefined)
      throw new UserError(`secret: environment variable ${ref.env} is not set on the worker`);
    return value;
  }
  try {
    return readFileSync(ref.file, 'utf8').trim();
  } catch (err) {
    throw new UserError(`secret: cannot read ${ref.file} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}
