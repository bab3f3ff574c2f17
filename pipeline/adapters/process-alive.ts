// Whether a process id is running on this host: how the file locks of the local log
// (local-log/dir-lock.ts) and of the directory store (store/dir-files.ts lockKey) recognise a lock
// left behind by a process that died (kill -9, power loss), since Node has no flock().
// kill(pid, 0) sends nothing; EPERM means the process exists but belongs to someone else.
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
