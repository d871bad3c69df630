import { z } from 'zod';
import { defineKind, pathStore } from '../kind';

/** A directory tree (files, or a local object-storage bucket); a drill's copy is a directory in the drill's. */
export const directory = defineKind({
  kind: 'directory',
  schema: z.strictObject({
    kind: z.literal('directory'),
    path: z.string().min(1).describe('Directory tree to back up (files, or a local object-storage bucket)'),
  }),
  validators: ['checksum', 'command', 'http'],
  ...pathStore,
  sandboxTarget: (_store, { root, service }) => ({ target: `${root}/${service}` }),
});
