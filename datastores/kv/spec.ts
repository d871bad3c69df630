import { z } from 'zod';
import { defineKind, WORKERD_STATE_PATH, workerdResource } from '../kind';

const kvSchema = z.strictObject({
  kind: z.literal('kv'),
  path: z.string().min(1).describe(WORKERD_STATE_PATH),
  namespace_id: z
    .string()
    .min(1)
    .describe(
      "The KV binding's namespace id in the wrangler file (not the binding name): it names the files",
    ),
});

/**
 * A KV namespace of a self-hosted workerd: an SQLite index of keys, metadata and
 * expirations, and a file per value. `key_count` patterns are globs: `user:*` counts a prefix.
 */
export const kv = defineKind({
  kind: 'kv',
  schema: kvSchema,
  validators: ['key_count', 'checksum', 'command', 'http'],
  ...workerdResource((store: z.output<typeof kvSchema>) => store.namespace_id),
});
