/**
 * A backend on S3-compatible object storage (AWS S3, MinIO, versitygw, Ceph...), through
 * the AWS SDK. Credentials come from the SDK's usual sources (AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, a profile, an instance role). Retries are left to the
 * retry wrapper (retry.ts), so the SDK's own are turned off.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { type ByteRange, NotFoundError, type StorageBackend, type StoredObject } from './backend';
import type { BackendFactory } from './registry';

export interface S3Location {
  bucket: string;
  /** Keys are stored under this prefix ("" for the bucket's root). */
  prefix: string;
  /** For a server other than AWS: http://127.0.0.1:7070; path-style addressing is then used. */
  endpoint?: string;
  region?: string;
  /** A request with no byte moving on its socket for this long fails (and is retried); default 30 s. */
  idleTimeoutMs?: number;
}

/** How a client reaches a server; credentials left out come from the SDK's usual sources. */
export interface S3ClientOptions {
  endpoint?: string;
  region?: string;
  /** Path-style addressing (http://host/bucket/key); by default, whenever an endpoint is given. */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  idleTimeoutMs?: number;
  /** The SDK's own attempts per request; 1 where a retry wrapper retries (the repository). */
  maxAttempts?: number;
  /**
   * When the SDK adds a checksum to a request: "when_required" sends a streamed body as it
   * is, where the default wraps it in aws-chunked encoding, which some servers (versitygw)
   * then keep in the object's Content-Encoding.
   */
  checksums?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
}

/** The client the repository backend and the S3 datastore share: no SDK retries, bounded stalls. */
export function s3Client(options: S3ClientOptions): S3Client {
  return new S3Client({
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 1,
    ...(options.checksums ? { requestChecksumCalculation: options.checksums } : {}),
    // A half-open connection must fail the request (and so be retried) instead of hanging
    // it: 10 s to connect, and 30 s without a byte moving on the socket. (The handler's
    // requestTimeout bounds the whole request and only warns unless told to throw; a slow
    // but moving upload of a pack must not fail.)
    requestHandler: { connectionTimeout: 10_000, socketTimeout: options.idleTimeoutMs ?? 30_000 },
  });
}

export class S3Backend implements StorageBackend {
  private readonly client: S3Client;

  constructor(private readonly where: S3Location) {
    this.client = s3Client(where);
  }

  get location(): string {
    return `s3://${this.where.bucket}/${this.where.prefix}`;
  }

  private key(key: string): string {
    return this.where.prefix ? `${this.where.prefix.replace(/\/$/, '')}/${key}` : key;
  }

  async put(key: string, data: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.where.bucket, Key: this.key(key), Body: data }),
    );
  }

  async create(key: string, data: Buffer): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.where.bucket, Key: this.key(key), Body: data, IfNoneMatch: '*' }),
      );
      return true;
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 412) return false;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Buffer> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.where.bucket,
          Key: this.key(key),
          Range: range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined,
        }),
      );
      return Buffer.from(await response.Body!.transformToByteArray());
    } catch (err) {
      throw notFound(err, key);
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.where.bucket, Key: this.key(key) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (err) {
      if (notFound(err, key) instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    const strip = this.key('').length;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.where.bucket,
          Prefix: this.key(prefix),
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        yield { key: object.Key!.slice(strip), size: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: this.key(key) }));
  }
}

/** The SDK's "no such key" (404), as the backend interface's NotFoundError. */
function notFound(err: unknown, key: string): unknown {
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
  return status === 404 ? new NotFoundError(key) : err;
}

/** s3://bucket/some/prefix -> bucket and prefix. */
export function parseS3Location(location: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!match) throw new Error(`"${location}" is not an s3://bucket/prefix address`);
  return { bucket: match[1], prefix: match[2].replace(/\/$/, '') };
}

export const s3Backends: BackendFactory = {
  scheme: 's3',
  async open({ location, endpoint, region }) {
    return new S3Backend({ ...parseS3Location(location), endpoint, region });
  },
};
