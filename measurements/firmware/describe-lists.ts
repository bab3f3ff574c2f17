// Human-readable summary of a PK/KEK/db/dbx value for event descriptions ("935 bytes: EFI_CERT_X509
// x1 [CN=...]"). Display only; never used to decide anything.
import type { SignatureList } from '../../image/formats/ovmf-vars/signature-list.js';
import { EFI_CERT_X509_GUID } from '../../image/formats/ovmf-vars/guids.js';
import { tryX509 } from './x509-chain.js';

/** Most lists and certificate names spelled out. */
const MAX_DESCRIBED = 4;

function commonName(der: Uint8Array): string {
  const x = tryX509(der);
  if (x === undefined) return 'undecodable certificate';
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1];
  return cn ?? x.subject.replaceAll('\n', ', ');
}

export function describeSignatureLists(size: number, lists: readonly SignatureList[]): string {
  const parts = lists.slice(0, MAX_DESCRIBED).map((l) => {
    const names =
      l.signatureType === EFI_CERT_X509_GUID
        ? ` [${l.entries
            .slice(0, MAX_DESCRIBED)
            .map((e) => commonName(e.data))
            .join('; ')}${l.entries.length > MAX_DESCRIBED ? '; ...' : ''}]`
        : '';
    return `${l.typeName} x${l.entries.length}${names}`;
  });
  if (lists.length > MAX_DESCRIBED) parts.push(`${lists.length - MAX_DESCRIBED} more lists`);
  return `${size} bytes: ${parts.length > 0 ? parts.join(', ') : 'no signature lists'}`;
}
