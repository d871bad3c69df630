/** The worker's function platforms, one per registered platform (the compiler checks the list). */
import type { FunctionPlatform, PlatformFor } from './platform';
import type { FunctionSpec, PlatformName } from './registry';
import { lambdaPlatform } from './aws-lambda/platform';
import { workerdPlatform } from './workerd/platform';

const platforms: { [P in PlatformName]: PlatformFor<P> } = {
  workerd: workerdPlatform,
  'aws-lambda': lambdaPlatform,
};

export function platformFor<F extends FunctionSpec>(fn: F): FunctionPlatform<F> {
  return platforms[fn.platform] as unknown as FunctionPlatform<F>;
}
