// A Rekor API v1 client (hashedrekord 0.0.1) implementing the TransparencyLog port: public-good or
// private Rekor, or `nodeimg tlog serve`. Nothing the log answers is returned before it is checked
// with the log key the caller pinned (rekor/verify-entry.ts): SET, checkpoint signature, inclusion
// proof, and for a new entry that the log stored exactly the canonical body we sent, at about the
// current time. Every checkpoint seen is also checked against the ones seen before, with the log's
// consistency proof (RFC 9162 2.1.4.2), so a log that forks or rewrites its history is caught; the
// caller can persist what was seen (seenCheckpoints) and hand it to the next client.
// Creating an entry is idempotent: a 409 (the entry exists, e.g. after a retried POST whose answer
// was lost) fetches the existing entry from the Location header, as RekorWitness does.
// Errors: a misbehaving log (bad proof, signature, body, shape) is CHECK_FAILED; an unreachable one
// IO_FAILED (rekor/http.ts).
import type { Clock, LogCheckpoint, LogEntry, TransparencyLog } from '../ports.js';
import { CheckFailedError, NodeimgError } from '../errors.js';
import { BadEntryError, canonicalBodyOf } from './local-log/hashedrekord-verify.js';
import { verifyConsistency } from './local-log/merkle.js';
import type { ParsedNote } from './local-log/signed-note.js';
import { DEFAULT_RETRY, requestWithRetry, type HttpResponse, type RetryPolicy } from './rekor/http.js';
import { verifyCheckpoint, verifyEntry, type PinnedLogKey } from './rekor/verify-entry.js';
import {
  consistencyFromJson,
  entryFromJson,
  entryIdsFromJson,
  logInfoFromJson,
  WireError,
} from './rekor/wire.js';
import { systemClock } from './system-clock.js';

/** The latest checkpoint seen per log origin: what a later client must find consistent. */
export type SeenCheckpoints = Record<string, { readonly treeSize: number; readonly rootHash: string }>;

export interface RekorClientOptions {
  /** e.g. https://rekor.sigstore.dev or http://127.0.0.1:PORT (no trailing /api/v1). */
  readonly baseUrl: string;
  /** The log's public key(s), pinned out of band (never taken from the log's own answers). */
  readonly keys: readonly PinnedLogKey[];
  readonly retry?: Partial<RetryPolicy>;
  readonly clock?: Clock;
  /** How far a new entry's integratedTime may be from the clock (default 600 s). */
  readonly maxClockSkewSeconds?: number;
  readonly seen?: SeenCheckpoints;
}

const MAX_REMEMBERED = 4096;

export class RekorClient implements TransparencyLog {
  readonly baseUrl: string;
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly skew: number;
  /** origin -> tree size -> root (hex) of every checkpoint verified consistent with the latest. */
  private readonly verified = new Map<string, Map<number, string>>();
  private readonly latest = new Map<string, { size: number; root: Buffer }>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: RekorClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new NodeimgError('USAGE', `${options.baseUrl}: a Rekor URL is http(s)://HOST[:PORT]`);
    if (options.keys.length === 0) throw new NodeimgError('USAGE', 'a Rekor client needs a pinned log key');
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.clock = options.clock ?? systemClock;
    this.skew = options.maxClockSkewSeconds ?? 600;
    for (const [origin, cp] of Object.entries(options.seen ?? {})) {
      this.latest.set(origin, { size: cp.treeSize, root: Buffer.from(cp.rootHash, 'hex') });
      this.verified.set(origin, new Map([[cp.treeSize, cp.rootHash]]));
    }
  }

  async add(canonicalBody: Uint8Array): Promise<LogEntry> {
    let proposed: unknown;
    let expected: Buffer;
    try {
      proposed = JSON.parse(Buffer.from(canonicalBody).toString('utf8'));
      expected = canonicalBodyOf(proposed);
    } catch (err) {
      const msg = err instanceof BadEntryError ? err.message : 'the entry body is not JSON';
      throw new NodeimgError('INTERNAL', `refusing to send a malformed entry: ${msg}`, { cause: err });
    }
    const res = await this.call('POST', '/api/v1/log/entries', JSON.stringify(proposed));
    let entry: LogEntry;
    if (res.status === 201) entry = await this.accept(res);
    else if (res.status === 409) {
      const loc = res.headers.get('location');
      const url = loc === null ? undefined : new URL(loc, `${this.baseUrl}/`);
      if (!url || url.origin !== new URL(this.baseUrl).origin)
        throw new CheckFailedError(`the log ${this.baseUrl} answered 409 without a Location on itself`);
      const id = url.pathname.split('/').pop() ?? '';
      const found = await this.entryByUuid(id);
      if (!found)
        throw new CheckFailedError(`the log ${this.baseUrl} said the entry exists (409) but has no ${id}`);
      entry = found;
    } else throw this.statusError(res, 'refused the entry');
    if (!entry.body.equals(expected))
      throw new CheckFailedError(`the log ${this.baseUrl} logged a different body than the entry sent`, {
        hint: 'the log is misbehaving; the bundle was not written',
      });
    const now = Math.floor(this.clock.now() / 1000);
    if (res.status === 201 && Math.abs(entry.integratedTime - now) > this.skew)
      throw new CheckFailedError(
        `the log ${this.baseUrl} integrated the new entry at ${entry.integratedTime}, ${entry.integratedTime - now} s from now`,
        { hint: 'check the clocks of this machine and the log' },
      );
    return entry;
  }

  async entryByUuid(id: string): Promise<LogEntry | undefined> {
    const lower = id.toLowerCase();
    if (!/^([0-9a-f]{16})?[0-9a-f]{64}$/.test(lower))
      throw new NodeimgError('USAGE', `${id} is not an entry UUID (64 hex) or entry ID (80 hex)`);
    const res = await this.call('GET', `/api/v1/log/entries/${lower}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.statusError(res, `has no entry ${lower}`);
    const entry = await this.accept(res);
    if (entry.uuid !== lower.slice(-64))
      throw new CheckFailedError(
        `the log ${this.baseUrl} answered a request for ${lower} with entry ${entry.uuid}`,
      );
    return entry;
  }

  async entryByIndex(logIndex: number): Promise<LogEntry | undefined> {
    const res = await this.call('GET', `/api/v1/log/entries?logIndex=${logIndex}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.statusError(res, `has no entry at index ${logIndex}`);
    const entry = await this.accept(res);
    if (entry.logIndex !== logIndex)
      throw new CheckFailedError(
        `the log ${this.baseUrl} answered index ${logIndex} with entry ${entry.logIndex}`,
      );
    return entry;
  }

  async searchBySha256(sha256Hex: string): Promise<string[]> {
    if (!/^[0-9a-fA-F]{64}$/.test(sha256Hex))
      throw new NodeimgError('USAGE', `${sha256Hex} is not a sha256 digest`);
    const res = await this.call(
      'POST',
      '/api/v1/index/retrieve',
      JSON.stringify({ hash: `sha256:${sha256Hex.toLowerCase()}` }),
    );
    if (res.status !== 200) throw this.statusError(res, 'refused the search');
    return this.parse(res, entryIdsFromJson);
  }

  async checkpoint(): Promise<LogCheckpoint> {
    const res = await this.call('GET', '/api/v1/log');
    if (res.status !== 200) throw this.statusError(res, 'gave no log info');
    const info = this.parse(res, logInfoFromJson);
    const note = verifyCheckpoint(info.signedTreeHead, this.options.keys, this.baseUrl);
    if (note.treeSize !== info.treeSize || note.rootHash.toString('hex') !== info.rootHash)
      throw new CheckFailedError(
        `the log ${this.baseUrl} gave a tree size/root that its signed tree head does not`,
      );
    await this.observe(note);
    return { treeSize: note.treeSize, rootHash: note.rootHash, checkpoint: info.signedTreeHead };
  }

  /** The log's consistency proof; verified when both tree sizes are ones this client has checkpoints for. */
  async consistency(firstSize: number, lastSize?: number): Promise<Buffer[]> {
    const last = lastSize ?? (await this.checkpoint()).treeSize;
    const proof = await this.fetchProof(firstSize, last);
    for (const seen of this.verified.values()) {
      const r1 = seen.get(firstSize);
      const r2 = seen.get(last);
      if (r1 === undefined || r2 === undefined) continue;
      const ok =
        proof.rootHash.toString('hex') === r2 &&
        verifyConsistency(firstSize, last, proof.hashes, Buffer.from(r1, 'hex'), Buffer.from(r2, 'hex'));
      if (!ok) throw this.forked(firstSize, last);
    }
    return proof.hashes;
  }

  /** The latest checkpoint seen per origin (to persist and hand to the next client as `seen`). */
  seenCheckpoints(): SeenCheckpoints {
    const out: Record<string, { treeSize: number; rootHash: string }> = {};
    for (const [origin, cp] of this.latest)
      out[origin] = { treeSize: cp.size, rootHash: cp.root.toString('hex') };
    return out;
  }

  close(): Promise<void> {
    return this.chain.then(
      () => undefined,
      () => undefined,
    );
  }

  private async fetchProof(first: number, last: number): Promise<{ rootHash: Buffer; hashes: Buffer[] }> {
    const res = await this.call('GET', `/api/v1/log/proof?firstSize=${first}&lastSize=${last}`);
    if (res.status !== 200) throw this.statusError(res, `gave no consistency proof from ${first} to ${last}`);
    return this.parse(res, consistencyFromJson);
  }

  /** Parses and verifies an entry response, and checks its checkpoint against the ones seen. */
  private async accept(res: HttpResponse): Promise<LogEntry> {
    const entry = this.parse(res, entryFromJson);
    const note = verifyEntry(entry, this.options.keys, this.baseUrl);
    await this.observe(note);
    return entry;
  }

  /** Checks a verified checkpoint for consistency with the latest one of its origin (serialized). */
  private observe(note: ParsedNote): Promise<void> {
    const run = async (): Promise<void> => {
      const seen = this.verified.get(note.origin) ?? new Map<number, string>();
      this.verified.set(note.origin, seen);
      const rootHex = note.rootHash.toString('hex');
      const known = seen.get(note.treeSize);
      if (known !== undefined) {
        if (known !== rootHex) throw this.forked(note.treeSize, note.treeSize);
        return;
      }
      const latest = this.latest.get(note.origin);
      if (latest && latest.size > 0 && note.treeSize > 0) {
        const [small, large] =
          latest.size < note.treeSize
            ? [latest, { size: note.treeSize, root: note.rootHash }]
            : [{ size: note.treeSize, root: note.rootHash }, latest];
        const proof = await this.fetchProof(small.size, large.size);
        if (
          !proof.rootHash.equals(large.root) ||
          !verifyConsistency(small.size, large.size, proof.hashes, small.root, large.root)
        )
          throw this.forked(small.size, large.size);
      }
      if (seen.size >= MAX_REMEMBERED) seen.delete(seen.keys().next().value as number);
      seen.set(note.treeSize, rootHex);
      if (!latest || note.treeSize > latest.size)
        this.latest.set(note.origin, { size: note.treeSize, root: note.rootHash });
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private forked(a: number, b: number): CheckFailedError {
    return new CheckFailedError(
      `the log ${this.baseUrl} is not append-only: its tree of size ${b} is not consistent with the tree of size ${a} it showed before (a forked or rewritten log)`,
      { hint: 'do not trust this log; keep the checkpoints as evidence' },
    );
  }

  private parse<T>(res: HttpResponse, parser: (doc: unknown) => T): T {
    try {
      return parser(JSON.parse(res.body.toString('utf8')));
    } catch (err) {
      const msg = err instanceof WireError ? err.message : 'not JSON';
      throw new CheckFailedError(`the log ${this.baseUrl} gave a malformed answer: ${msg}`, { cause: err });
    }
  }

  private statusError(res: HttpResponse, what: string): NodeimgError {
    let message = res.body.toString('utf8').slice(0, 300).trim();
    try {
      const m = (JSON.parse(message) as { message?: unknown }).message;
      if (typeof m === 'string') message = m;
    } catch {
      // not JSON: keep the text
    }
    const text = `the log ${this.baseUrl} ${what}: HTTP ${res.status}${message ? `: ${message}` : ''}`;
    return res.status === 400 || res.status === 422
      ? new CheckFailedError(text)
      : new NodeimgError('IO_FAILED', text, { hint: 'check --rekor / NODEIMG_REKOR_URL' });
  }

  private call(method: 'GET' | 'POST', path: string, body?: string): Promise<HttpResponse> {
    return requestWithRetry(
      `${this.baseUrl}${path}`,
      body === undefined ? { method } : { method, body },
      this.policy,
    );
  }
}
