import { z } from 'zod';
import { defineKind, sqlValidators, WORKERD_STATE_PATH, workerdResource } from '../kind';

const d1Schema = z.strictObject({
  kind: z.literal('d1'),
  path: z.string().min(1).describe(WORKERD_STATE_PATH),
  database_id: z
    .string()
    .min(1)
    .describe("The D1 binding's database_id in the wrangler file (not the binding name): it names the file"),
});

/** A D1 database of a self-hosted workerd: an SQLite file in the host's state directory. */
export const d1 = defineKind({
  kind: 'd1',
  schema: d1Schema,
  validators: sqlValidators,
  ...workerdResource((store: z.output<typeof d1Schema>) => store.database_id),
});
