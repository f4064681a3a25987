/** Request schemas of the operators' fleet API. */
import { z } from 'zod';

/** An SFU node id, as nodes register it (SFU_NODE_ID). */
export const nodeParams = z.object({
  nodeId: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'is not an SFU node id'),
});
/** Drain and activate take no body (an empty JSON object at most). */
export const emptyBody = z.object({}).strict();
