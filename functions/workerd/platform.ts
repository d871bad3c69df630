import type { PlatformFor } from '../platform';

const notYet = () => Promise.reject(new Error('workerd platform: not built yet'));
/** STUB, replaced by the workerd platform's own file. */
export const workerdPlatform: PlatformFor<'workerd'> = {
  platform: 'workerd',
  capture: notYet,
  deploy: notYet,
  boundResources: () => ({}),
  quiesce: notYet,
  resume: notYet,
  probe: notYet,
  removeCopy: notYet,
  describe: (fn) => `workerd ${fn.wrangler}`,
};
