/** The Lambda API client a function's manifest entry describes, and how its "not found" answers are told apart. */
import { LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { resolveSecret } from '../../datastores/shared/secrets';
import type { LambdaFunction } from './spec';

export function lambdaClient(fn: LambdaFunction): LambdaClient {
  const accessKeyId = resolveSecret(fn.access_key_id);
  const secretAccessKey = resolveSecret(fn.secret_access_key);
  return new LambdaClient({
    region: fn.region,
    ...(fn.endpoint ? { endpoint: fn.endpoint } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey } } : {}),
  });
}

export function isNotFound(err: unknown): boolean {
  return (
    err instanceof ResourceNotFoundException ||
    (err as Error | undefined)?.name === 'ResourceNotFoundException'
  );
}

/** The call's answer, or undefined when Lambda says the thing asked for does not exist. */
export async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
