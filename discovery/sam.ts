/**
 * The functions of an AWS SAM template (Transform: AWS::Serverless-2016-10-31): each
 * AWS::Serverless::Function, named by FunctionName or its logical id, reached through its
 * AutoPublishAlias; what it uses, from its environment variables, its event sources (S3,
 * DynamoDB, SQS) and its policies (S3CrudPolicy, DynamoDBCrudPolicy, IAM statements).
 */
import path from 'node:path';
import { UserError } from '../model/errors';
import {
  type CloudResource,
  type Dict,
  FUNCTION_NAME_PLACEHOLDER,
  type FoundLambda,
  Resources,
  asArray,
  cloudFormationText,
  isDict,
  lambdaDiscovery,
  lambdaName,
  parameterDefaults,
  readCloudFormationYaml,
} from './cloudformation';
import type { Discovery } from './discovered';

export function discoverSam(file: string): Discovery {
  const template = readSamTemplate(file);
  const notes: string[] = [];
  const known = parameterDefaults(template.Parameters);
  const text = (value: unknown) => cloudFormationText(value, known);
  const resources = new Resources(template.Resources as Dict, text);
  const globals = isDict(template.Globals?.Function) ? (template.Globals.Function as Dict) : {};
  const lambdas = Object.entries(template.Resources as Dict)
    .filter(([, r]) => isDict(r) && r.Type === 'AWS::Serverless::Function')
    .map(([id, r]) =>
      samFunction(file, id, withGlobals(globals, isDict(r.Properties) ? r.Properties : {}), {
        resources,
        text,
        notes,
      }),
    );
  if (lambdas.length === 0)
    throw new UserError(`${file}: Resources: no AWS::Serverless::Function; nothing for Lazarus to discover`);
  notes.push(
    `${file}: a SAM template does not say its region: us-east-1 is assumed; set each function's region (samconfig.toml has it)`,
  );
  return lambdaDiscovery(
    file,
    'sam',
    path.basename(path.dirname(path.resolve(file))),
    lambdas,
    resources,
    notes,
  );
}

function readSamTemplate(file: string): Dict {
  const template = readCloudFormationYaml(file, 'a SAM template');
  if (!asArray(template.Transform).some((t) => typeof t === 'string' && t.startsWith('AWS::Serverless-')))
    throw new UserError(
      `${file}: Transform: not a SAM template; it needs Transform: AWS::Serverless-2016-10-31`,
    );
  if (!isDict(template.Resources))
    throw new UserError(`${file}: Resources: missing; a SAM template declares its functions there`);
  return template;
}

/** Globals.Function under a function's own properties; environment variables merged one by one. */
function withGlobals(globals: Dict, own: Dict): Dict {
  const variables = {
    ...(globals.Environment?.Variables as Dict | undefined),
    ...(own.Environment?.Variables as Dict | undefined),
  };
  return { ...globals, ...own, Environment: { Variables: variables } };
}

/** What reading one function needs: the template's resources, its parameters' defaults, the notes. */
interface Context {
  resources: Resources;
  text: (value: unknown) => string | undefined;
  notes: string[];
}

function samFunction(
  file: string,
  id: string,
  properties: Dict,
  { resources, text, notes }: Context,
): FoundLambda {
  const alias = text(properties.AutoPublishAlias) || undefined;
  if (alias === undefined)
    notes.push(
      `${file}: ${id}: no AutoPublishAlias; Lazarus reaches a function through an alias: alias "live" assumed`,
    );
  return {
    key: id,
    name: functionName(file, id, properties.FunctionName, { resources, text, notes }),
    alias,
    uses: [
      ...Object.entries((properties.Environment?.Variables as Dict | undefined) ?? {}).flatMap(([k, v]) =>
        resources.fromVariable(k, v),
      ),
      ...eventSources(properties.Events, resources),
      ...asArray(properties.Policies).flatMap((policy) => policyResources(policy, resources)),
    ],
  };
}

function functionName(file: string, id: string, given: unknown, { text, notes }: Context): string {
  const at = `Resources.${id}.Properties.FunctionName`;
  if (given === undefined) {
    notes.push(
      `${file}: ${id}: no FunctionName, so CloudFormation names it <stack>-${id}-<suffix>: the logical id is written; set function.name to the deployed name`,
    );
    return id;
  }
  if (given === null || given === '' || (typeof given !== 'string' && !isDict(given)))
    throw new UserError(
      `${file}: ${at}: a function name is a string (or a !Sub of one); remove it to use ${id}`,
    );
  const name = text(given);
  if (name === undefined) {
    notes.push(
      `${file}: ${at}: ${JSON.stringify(given)} cannot be worked out from the template; fill in the function's name`,
    );
    return FUNCTION_NAME_PLACEHOLDER;
  }
  if (!lambdaName.test(name))
    throw new UserError(
      `${file}: ${at}: "${name}" is not a Lambda function name (letters, digits, "-" and "_", at most 64)`,
    );
  return name;
}

/** S3, DynamoDB and SQS event sources; the others (Api, Schedule...) keep no state. */
function eventSources(events: unknown, resources: Resources): CloudResource[] {
  const field: Record<string, string> = { S3: 'Bucket', DynamoDB: 'Stream', SQS: 'Queue' };
  return Object.values(isDict(events) ? events : {}).flatMap((event) =>
    isDict(event) && field[event.Type] && isDict(event.Properties)
      ? resources.referencedBy(event.Properties[field[event.Type]])
      : [],
  );
}

/**
 * SAM policy templates name what they grant (S3CrudPolicy: {BucketName: ...},
 * DynamoDBCrudPolicy: {TableName: ...}, SQSPollerPolicy: {QueueName: ...}); an inline policy
 * names ARNs in its statements. Managed policy names (strings) say nothing of resources.
 */
function policyResources(policy: unknown, resources: Resources): CloudResource[] {
  if (!isDict(policy)) return [];
  if ('Statement' in policy)
    return asArray(policy.Statement).flatMap((s) => (isDict(s) ? resources.referencedBy(s.Resource) : []));
  return Object.entries(policy).flatMap(([template, args]) =>
    /^(S3|DynamoDB|SQS)\w*Policy$/.test(template) && isDict(args)
      ? Object.entries(args).flatMap(([k, v]) => resources.fromVariable(k, v))
      : [],
  );
}
