import { z } from 'zod';
import { defineKind, pathStore, sqlValidators } from '../kind';

/** An SQLite database file; a drill's copy is a file of its own in the drill's directory. */
export const sqlite = defineKind({
  kind: 'sqlite',
  schema: z.strictObject({
    kind: z.literal('sqlite'),
    path: z.string().min(1).describe('Path of the SQLite database file'),
  }),
  validators: sqlValidators,
  ...pathStore,
  sandboxTarget: (_store, { root, service }) => ({ target: `${root}/${service}.db` }),
});
