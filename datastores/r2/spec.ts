import { z } from 'zod';
import { defineKind, WORKERD_STATE_PATH, workerdResource } from '../kind';

const r2Schema = z.strictObject({
  kind: z.literal('r2'),
  path: z.string().min(1).describe(WORKERD_STATE_PATH),
  bucket: z
    .string()
    .min(1)
    .describe("The R2 binding's bucket_name in the wrangler file (not the binding name): it names the files"),
});

/** An R2 bucket of a self-hosted workerd: an SQLite index of objects, and a file per body (or part). */
export const r2 = defineKind({
  kind: 'r2',
  schema: r2Schema,
  validators: ['object_count', 'checksum', 'command', 'http'],
  ...workerdResource((store: z.output<typeof r2Schema>) => store.bucket),
});
