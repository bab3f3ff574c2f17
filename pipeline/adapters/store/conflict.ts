// The one refusal every store gives when a key already holds different bytes (put-if-absent lost
// to other content): PUBLISH_CONFLICT, the client's fault, not retryable.
import { PublishError } from '../../errors.js';

export function conflictError(target: string, existing: string | undefined, wanted: string): PublishError {
  const has = existing === undefined ? 'different content' : `different content (sha256 ${existing})`;
  return new PublishError(
    'PUBLISH_CONFLICT',
    { target, fault: 'client', retryable: false },
    `already holds ${has}; refusing to replace it with sha256 ${wanted}`,
    { hint: 'published objects never change: publish the new content under a new version' },
  );
}
