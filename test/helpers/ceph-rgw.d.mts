// Types of test/helpers/ceph-rgw.mjs (plain JavaScript so that bench/s3-upload.mjs can load it too).
export declare const RADOSGW_PACKAGES: readonly string[];
/** The first of the Ceph binaries that is not on PATH, or undefined when all are. */
export declare function missingCephTool(): string | undefined;
export interface Radosgw {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /** radosgw --version, e.g. 16.2.15 */
  readonly version: string;
  /** radosgw, ceph-osd, ceph-mon */
  readonly pids: readonly number[];
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  stop(): Promise<void>;
}
export declare function startRadosgw(
  dir: string,
  options?: { readonly port?: number; readonly monPort?: number; readonly memoryGiB?: number },
): Promise<Radosgw>;
