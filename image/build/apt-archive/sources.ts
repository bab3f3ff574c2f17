// The suites a lock is resolved against, written as one-line apt sources ("deb URL SUITE COMPONENT
// ...", sources.list(5) without options), e.g. image/build/rootfs/lock.ts DEFAULT_MIRRORS for
// bookworm: the main suite, -updates and -security. authenticateSources authenticates each
// (suite.ts) with the same keyring and clock; resolvePackages then takes the highest version any
// of them offers.
import { NodeimgError } from '../../formats/errors.js';
import { authenticateSuite, type AuthenticatedSuite, type SuiteRequest } from './suite.js';

export interface AptSource {
  readonly mirror: string;
  readonly suite: string;
  readonly components: readonly string[];
}

/** Parses "deb URL SUITE COMPONENT..." (no [options], no deb-src). Pure. */
export function parseAptSource(line: string): AptSource {
  const words = line.trim().split(/\s+/);
  if (words[0] !== 'deb' || words.length < 4 || (words[1] ?? '').startsWith('['))
    throw new NodeimgError('USAGE', `apt source ${JSON.stringify(line)} is not "deb URL SUITE COMPONENT..."`);
  return { mirror: words[1] as string, suite: words[2] as string, components: words.slice(3) };
}

export async function authenticateSources(
  lines: readonly string[],
  common: Omit<SuiteRequest, 'mirror' | 'suite' | 'components'>,
): Promise<AuthenticatedSuite[]> {
  const out: AuthenticatedSuite[] = [];
  for (const line of lines) {
    const s = parseAptSource(line);
    out.push(
      await authenticateSuite({ ...common, mirror: s.mirror, suite: s.suite, components: s.components }),
    );
  }
  return out;
}
