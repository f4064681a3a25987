/**
 * A loopback S3 speaking the REST protocol (path-style) for the calls the object store makes:
 * PUT/GET/DELETE object, ListObjectsV2 (paged), DeleteObjects and multipart uploads, with
 * S3's XML error bodies. Requests must be SigV4-signed with the test access key; a CRC32
 * checksum header, when sent, must match the body.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

export const S3_ACCESS_KEY = 'AKIAFAKES30000000000';
export const S3_CREDENTIALS = { accessKeyId: S3_ACCESS_KEY, secretAccessKey: 'fake-secret-access-key-for-loopback-s3' };

export interface FakeS3 {
  endpoint: string;
  /** bucket → key → bytes */
  buckets: Map<string, Map<string, Buffer>>;
  /** "METHOD path?query" of every request, in order. */
  requests: string[];
  /** Open multipart uploads (none should remain after a finished or failed put). */
  uploads: Map<string, { key: string; parts: Map<number, Buffer> }>;
  close(): Promise<void>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Starts the fake with the given buckets; lists return at most `pageSize` keys per page. */
export async function startFakeS3(bucketNames: string[], pageSize = 1000): Promise<FakeS3> {
  const buckets = new Map(bucketNames.map((b) => [b, new Map<string, Buffer>()]));
  const uploads: FakeS3['uploads'] = new Map();
  const requests: string[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://x');
      const q = url.searchParams;
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const xml = (status: number, inner: string) => {
        res.writeHead(status, {
          'content-type': 'application/xml',
          'x-amz-request-id': randomBytes(8).toString('hex'),
        });
        res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${inner}`);
      };
      const error = (status: number, code: string) =>
        xml(status, `<Error><Code>${code}</Code><Message>${code}</Message></Error>`);
      const empty = (status: number, headers: Record<string, string> = {}) => {
        res.writeHead(status, headers);
        res.end();
      };
      if (!String(req.headers.authorization ?? '').startsWith(`AWS4-HMAC-SHA256 Credential=${S3_ACCESS_KEY}/`))
        return error(403, 'InvalidAccessKeyId');
      if (String(req.headers['content-encoding'] ?? '').includes('aws-chunked')) return error(501, 'NotImplemented');
      const sum = req.headers['x-amz-checksum-crc32'];
      if (typeof sum === 'string') {
        const want = Buffer.alloc(4);
        want.writeUInt32BE(crc32(body));
        if (want.toString('base64') !== sum) return error(400, 'BadDigest');
      }
      const [, bucketName = '', ...rest] = url.pathname.split('/');
      const key = rest.map(decodeURIComponent).join('/');
      const bucket = buckets.get(bucketName);
      if (!bucket) return error(404, 'NoSuchBucket');
      const etag = `"${randomBytes(16).toString('hex')}"`;

      if (!key && req.method === 'GET' && q.get('list-type') === '2') {
        const prefix = q.get('prefix') ?? '';
        const after = q.get('continuation-token') ?? '';
        const max = Math.min(pageSize, Number(q.get('max-keys') ?? 1000));
        const all = [...bucket.keys()]
          .filter((k) => k.startsWith(prefix) && k > after)
          .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        const page = all.slice(0, max);
        const truncated = all.length > max;
        const contents = page
          .map(
            (k) =>
              `<Contents><Key>${esc(k)}</Key><Size>${bucket.get(k)?.length ?? 0}</Size><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>${etag}</ETag></Contents>`,
          )
          .join('');
        return xml(
          200,
          `<ListBucketResult><Name>${bucketName}</Name><Prefix>${esc(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${truncated ? `<NextContinuationToken>${esc(page.at(-1) ?? '')}</NextContinuationToken>` : ''}</ListBucketResult>`,
        );
      }
      if (!key && req.method === 'POST' && q.has('delete')) {
        const keys = [...body.toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1] ?? '');
        for (const k of keys) bucket.delete(k);
        return xml(200, '<DeleteResult></DeleteResult>');
      }
      if (!key) return error(400, 'InvalidRequest');

      const uploadId = q.get('uploadId');
      if (req.method === 'POST' && q.has('uploads')) {
        const id = randomBytes(8).toString('hex');
        uploads.set(id, { key, parts: new Map() });
        return xml(
          200,
          `<InitiateMultipartUploadResult><Bucket>${bucketName}</Bucket><Key>${esc(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
        );
      }
      if (uploadId !== null) {
        const upload = uploads.get(uploadId);
        if (!upload || upload.key !== key) return error(404, 'NoSuchUpload');
        if (req.method === 'PUT') {
          upload.parts.set(Number(q.get('partNumber')), body);
          return empty(200, { etag });
        }
        if (req.method === 'DELETE') {
          uploads.delete(uploadId);
          return empty(204);
        }
        if (req.method === 'POST') {
          const numbers = [...body.toString().matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
          const parts = numbers.map((n) => upload.parts.get(n));
          if (!numbers.length || parts.some((p) => !p)) return error(400, 'InvalidPart');
          bucket.set(key, Buffer.concat(parts as Buffer[]));
          uploads.delete(uploadId);
          return xml(
            200,
            `<CompleteMultipartUploadResult><Bucket>${bucketName}</Bucket><Key>${esc(key)}</Key><ETag>${etag}</ETag></CompleteMultipartUploadResult>`,
          );
        }
      }
      if (req.method === 'PUT') {
        bucket.set(key, body);
        return empty(200, { etag });
      }
      if (req.method === 'GET') {
        const obj = bucket.get(key);
        if (!obj) return error(404, 'NoSuchKey');
        res.writeHead(200, { 'content-length': String(obj.length), 'content-type': 'application/octet-stream', etag });
        return res.end(obj);
      }
      if (req.method === 'DELETE') {
        bucket.delete(key);
        return empty(204);
      }
      return error(405, 'MethodNotAllowed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    buckets,
    uploads,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
