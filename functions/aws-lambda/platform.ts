/**
 * AWS Lambda through @aws-sdk/client-lambda: capture (capture.ts), deploy and native
 * rollback (deploy.ts), the triggers both read and recreate (triggers.ts). Quiesce sets the
 * reserved concurrency to 0, and notes the one it replaced in a tag, so that resume (on any
 * worker, after any restart) puts it back.
 */
import {
  DeleteFunctionCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  ListTagsCommand,
  PutFunctionConcurrencyCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-lambda';
import type { PlatformFor } from '../platform';
import { boundResources } from './bindings';
import { captureLambda } from './capture';
import { lambdaClient, unlessNotFound } from './lambda-api';
import { UserError } from '../../model/errors';
import { QUIESCED_TAG, unqualifiedArn } from './content';
import { deployLambda, rollbackLambda } from './deploy';
import type { LambdaFunction } from './spec';
import { concurrencyTag, parseConcurrencyTag, setConcurrency } from './triggers';

/** How much of an answer a probe keeps. */
const PROBE_BODY_BYTES = 4096;

export const lambdaPlatform: PlatformFor<'aws-lambda'> = {
  platform: 'aws-lambda',
  capture: captureLambda,
  deploy: deployLambda,
  rollback: rollbackLambda,
  boundResources,

  async quiesce(fn, ctx) {
    const client = lambdaClient(fn);
    const opts = { abortSignal: ctx.signal };
    const arn = await functionArn(fn, ctx.signal);
    const tags = (await client.send(new ListTagsCommand({ Resource: arn }), opts)).Tags ?? {};
    // A second quiesce (a retry) must not note quiesce's own 0 as the user's setting.
    if (tags[QUIESCED_TAG] === undefined) {
      const got = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: fn.name }), opts);
      const before = concurrencyTag(got.ReservedConcurrentExecutions ?? null);
      await client.send(new TagResourceCommand({ Resource: arn, Tags: { [QUIESCED_TAG]: before } }), opts);
    }
    // Lambda lets in-flight invocations finish; with 0 reserved it starts no new ones.
    await client.send(
      new PutFunctionConcurrencyCommand({ FunctionName: fn.name, ReservedConcurrentExecutions: 0 }),
      opts,
    );
  },

  async resume(fn, ctx) {
    const client = lambdaClient(fn);
    const opts = { abortSignal: ctx.signal };
    const arn = await functionArn(fn, ctx.signal);
    const tags = (await client.send(new ListTagsCommand({ Resource: arn }), opts)).Tags ?? {};
    const noted = tags[QUIESCED_TAG];
    if (noted === undefined) return;
    await setConcurrency(client, fn, parseConcurrencyTag(noted), opts);
    await client.send(new UntagResourceCommand({ Resource: arn, TagKeys: [QUIESCED_TAG] }), opts);
  },

  async probe(fn, ctx) {
    const client = lambdaClient(fn);
    const answer = await client.send(
      new InvokeCommand({
        FunctionName: fn.name,
        Qualifier: fn.alias,
        Payload: Buffer.from(JSON.stringify(fn.probe.payload ?? {})),
      }),
      { abortSignal: ctx.signal },
    );
    const body = Buffer.from(answer.Payload ?? new Uint8Array())
      .toString('utf8')
      .slice(0, PROBE_BODY_BYTES);
    const status = answer.StatusCode ?? 0;
    const ok =
      !answer.FunctionError &&
      status === fn.probe.status &&
      (fn.probe.contains === undefined || body.includes(fn.probe.contains));
    return { ok, status, body: answer.FunctionError ? `${answer.FunctionError}: ${body}` : body };
  },

  /** A drill's copy, deployed under the manifest's sandbox_name: never any other function. */
  async removeCopy(fn, ctx) {
    if (fn.sandbox_name === undefined || fn.name !== fn.sandbox_name)
      throw new UserError(
        `refusing to delete ${fn.name}: only a drill's copy (sandbox_name) is ever removed`,
      );
    await unlessNotFound(
      lambdaClient(fn).send(new DeleteFunctionCommand({ FunctionName: fn.name }), {
        abortSignal: ctx.signal,
      }),
    );
  },

  describe: (fn) => `lambda ${fn.name}:${fn.alias} (${fn.region}${fn.endpoint ? ` at ${fn.endpoint}` : ''})`,
};

async function functionArn(fn: LambdaFunction, signal: AbortSignal): Promise<string> {
  const conf = await lambdaClient(fn).send(new GetFunctionConfigurationCommand({ FunctionName: fn.name }), {
    abortSignal: signal,
  });
  return unqualifiedArn(conf.FunctionArn!);
}
