// The verifier's memory of the newest signed version index it has accepted per store, ref and
// stream: a small JSON file. An index with a lower sequence than one already seen is a rollback
// (an attacker or a stale mirror serving an old, validly signed index, e.g. to hide a revoked
// version); the same sequence with other bytes is a fork. Both are refused unless the user
// explicitly allows a rollback. The file is written atomically (temp file + rename) and only after
// a fetch succeeded.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { NodeimgError } from '../errors.js';

export interface SeenIndex {
  readonly sequence: number;
  readonly sha256: string;
}

interface StateFile {
  readonly version: 1;
  readonly seen: Record<string, SeenIndex>;
}

export function defaultStatePath(env: NodeJS.ProcessEnv): string {
  const base = env['XDG_STATE_HOME'] ?? join(env['HOME'] ?? homedir(), '.local', 'state');
  return join(base, 'nodeimg', 'version-state.json');
}

export function stateKey(store: string, ref: string, stream: string): string {
  return `${store} ${ref} ${stream}`;
}

export class RollbackState {
  private constructor(
    readonly path: string,
    private readonly seen: Record<string, SeenIndex>,
  ) {}

  static async load(path: string): Promise<RollbackState> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new RollbackState(path, {});
      throw new NodeimgError('IO_FAILED', `cannot read the version state ${path}: ${(err as Error).message}`);
    }
    try {
      const v = JSON.parse(text) as Partial<StateFile>;
      if (v.version !== 1 || typeof v.seen !== 'object' || v.seen === null) throw new Error('unknown format');
      for (const s of Object.values(v.seen)) {
        if (!Number.isSafeInteger(s.sequence) || !/^[0-9a-f]{64}$/.test(s.sha256))
          throw new Error('bad entry');
      }
      return new RollbackState(path, { ...v.seen });
    } catch (err) {
      throw new NodeimgError(
        'PARSE_INVALID',
        `the version state ${path} is damaged (${(err as Error).message})`,
        {
          hint: 'it only remembers the newest index seen; remove it to start over (rollback protection restarts too)',
        },
      );
    }
  }

  get(key: string): SeenIndex | undefined {
    return this.seen[key];
  }

  /** Throws VERIFY_ROLLBACK when `index` is older than (or forks) what was seen, unless allowed. */
  check(key: string, index: SeenIndex, allowRollback: boolean): void {
    const old = this.seen[key];
    if (old === undefined || allowRollback) return;
    if (index.sequence < old.sequence)
      throw new NodeimgError(
        'VERIFY_ROLLBACK',
        `the store serves version index ${index.sequence}, older than index ${old.sequence} seen before: a rollback`,
        {
          hint: `if this is intended (e.g. a restored store), rerun with --allow-rollback; state: ${this.path}`,
        },
      );
    if (index.sequence === old.sequence && index.sha256 !== old.sha256)
      throw new NodeimgError(
        'VERIFY_ROLLBACK',
        `version index ${index.sequence} differs from the one seen before with the same number: the store forked`,
        { hint: `state: ${this.path}` },
      );
  }

  async record(key: string, index: SeenIndex): Promise<void> {
    const old = this.seen[key];
    if (old !== undefined && old.sequence > index.sequence) return;
    this.seen[key] = index;
    const body: StateFile = { version: 1, seen: this.seen };
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`);
      await rename(tmp, this.path);
    } catch (err) {
      throw new NodeimgError(
        'IO_FAILED',
        `cannot write the version state ${this.path}: ${(err as Error).message}`,
      );
    }
  }
}
