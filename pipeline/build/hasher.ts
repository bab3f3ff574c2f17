// sha256 of the files a build reads, each hashed at most once per build (a 1 GiB disk image read
// by three format stages is hashed once); outputs a stage just wrote are remembered as they were
// hashed when the stage finished.
import { sha256OfFile } from '../../image/build/stages/fetch.js';
import type { KnownFile } from '../../image/build/stages/types.js';

export class FileHasher {
  private readonly memo = new Map<string, Promise<KnownFile>>();

  digest(path: string, signal?: AbortSignal): Promise<KnownFile> {
    let p = this.memo.get(path);
    if (!p) {
      p = sha256OfFile(path, signal);
      this.memo.set(path, p);
      p.catch(() => this.memo.delete(path));
    }
    return p;
  }

  remember(path: string, known: KnownFile): void {
    this.memo.set(path, Promise.resolve(known));
  }
}
