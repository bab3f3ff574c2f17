import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../pipeline/cli.js';
import { run } from '../helpers/cli.js';

describe('nodeimg', () => {
  it('lists every command with the summary the command itself gives', async () => {
    for (const entry of COMMANDS) {
      const cmd = await entry.load();
      expect(cmd.name).toBe(entry.name);
      expect(cmd.summary).toBe(entry.summary);
    }
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const entry of COMMANDS) expect(help.stdout).toContain(entry.name);
  });

  it('every command has --help (exit 0) and refuses unknown options (exit 2)', async () => {
    for (const entry of COMMANDS) {
      const h = await run([entry.name, '--help']);
      expect(h.code, entry.name).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^usage: nodeimg ${entry.name}`));
      expect((await run([entry.name, '--no-such-option', 'x'])).code, entry.name).toBe(2);
    }
  });

  it('answers usage errors with exit 2 and --version with the package version', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['no-such-command'])).code).toBe(2);
    const v = await run(['--version']);
    expect(v.stdout).toMatch(/^nodeimg \d+\.\d+\.\d+/);
  });
});
