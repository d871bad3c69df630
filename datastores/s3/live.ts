/**
 * Live discovery of an S3 server's buckets, one store each: `http://[key:secret@]host:port`
 * for MinIO, versitygw and the like, `https://s3.<region>.amazonaws.com` for AWS. Keys in
 * the URL are used to list and never written into the store: a store found this way uses
 * the AWS SDK's own sources (AWS_ACCESS_KEY_ID...) unless the manifest adds references.
 */
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { UserError } from '../../model/errors';
import { s3Client } from '../../repository/storage/s3';
import { probeError } from './bucket';

export async function listS3Stores(
  url: string,
): Promise<{ name: string; datastore: Record<string, unknown> }[]> {
  const { store, credentials } = parseS3Url(url);
  const client = s3Client({ ...store, credentials, maxAttempts: 1 });
  let buckets: string[];
  try {
    const { Buckets = [] } = await client.send(new ListBucketsCommand({}));
    buckets = Buckets.map((b) => b.Name!).sort();
  } catch (err) {
    throw probeError(err, `--s3 ${url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}`, store, '*', 'bucket');
  } finally {
    client.destroy();
  }
  return buckets.map((bucket) => ({
    name: bucket,
    datastore: {
      kind: 's3',
      ...(store.endpoint ? { endpoint: store.endpoint, force_path_style: true } : {}),
      region: store.region,
      bucket,
    },
  }));
}

function parseS3Url(url: string) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL('invalid://');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UserError(
      `--s3 ${url}: write the server's URL, such as http://minio:9000 (keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or http://KEY:SECRET@minio:9000), or https://s3.eu-west-1.amazonaws.com`,
    );
  const aws = /^s3[.-](?:([a-z0-9-]+)\.)?amazonaws\.com$/.exec(parsed.hostname);
  const region = aws?.[1] ?? parsed.searchParams.get('region') ?? process.env.AWS_REGION ?? 'us-east-1';
  const credentials = parsed.username
    ? {
        accessKeyId: decodeURIComponent(parsed.username),
        secretAccessKey: decodeURIComponent(parsed.password),
      }
    : undefined;
  const endpoint = aws ? undefined : `${parsed.protocol}//${parsed.host}`;
  return { store: { kind: 's3' as const, endpoint, region }, credentials };
}
