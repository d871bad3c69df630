/** How a manifest names a secret. Pure: datastore specs and workflows import it. */
import { z } from 'zod';

/** A secret is referenced, never written inline: its value is read by the worker at run time. */
export const secretRefSchema = z
  .union(
    [
      z.strictObject({
        env: z.string().min(1).describe('Name of the environment variable that holds the secret'),
      }),
      z.strictObject({ file: z.string().min(1).describe('Path of a file whose content is the secret') }),
    ],
    { error: 'must be a reference, {env: NAME} or {file: PATH}, never the secret itself' },
  )
  .describe('A secret reference: {env: NAME} or {file: PATH}');
export type SecretRef = z.infer<typeof secretRefSchema>;
