/** How a function is checked after a deploy: what every platform's `probe` field holds. Pure. */
import { z } from 'zod';

export const probeSchema = z
  .strictObject({
    path: z.string().startsWith('/').default('/').describe('HTTP functions: the path requested'),
    payload: z
      .unknown()
      .optional()
      .describe('Invoked functions (Lambda): the event sent, as JSON; default {}'),
    status: z.number().int().default(200).describe('The answer expected: an HTTP status'),
    contains: z.string().optional().describe('Text the answer must contain'),
  })
  .default({ path: '/', status: 200 })
  .describe("The request a restore, rollback or drill sends to check the function's answer");
export type Probe = z.output<typeof probeSchema>;
