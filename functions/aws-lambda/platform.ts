import type { PlatformFor } from '../platform';

const notYet = () => Promise.reject(new Error('aws-lambda platform: not built yet'));
/** STUB, replaced by the aws-lambda platform's own file. */
export const lambdaPlatform: PlatformFor<'aws-lambda'> = {
  platform: 'aws-lambda',
  capture: notYet,
  deploy: notYet,
  boundResources: () => ({}),
  quiesce: notYet,
  resume: notYet,
  probe: notYet,
  removeCopy: notYet,
  describe: (fn) => `aws-lambda ${fn.name}`,
};
