// Signs the SHA-256 of a request body we already hashed. SigV4 puts the payload hash in
// x-amz-content-sha256 and signs it (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html);
// S3 recomputes it and refuses a mismatch (XAmzContentSHA256Mismatch), so each PutObject and each
// multipart part is verified by the server. The SDK would hash a Buffer body again to sign it; its
// signer takes the header when it is present (@smithy/signature-v4 getPayloadHash).
import type { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';

type Request = { readonly request: unknown };

function setHeader(args: Request, sha256Hex: string): void {
  const request = args.request as { headers?: Record<string, string> };
  if (request.headers) request.headers['x-amz-content-sha256'] = sha256Hex;
}

const OPTIONS = { step: 'build', name: 'nodeimgPayloadSha256', override: true } as const;

export function withPayloadSha256<C extends PutObjectCommand | UploadPartCommand>(
  command: C,
  sha256Hex: string,
): C {
  // one add() per command type: the middleware stack is typed by the command's input and output
  const stack = (command as PutObjectCommand).middlewareStack;
  stack.add(
    (next) => async (args) => {
      setHeader(args, sha256Hex);
      return next(args);
    },
    OPTIONS,
  );
  return command;
}
