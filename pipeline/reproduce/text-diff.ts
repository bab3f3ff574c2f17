// A short line diff for the text parts of a reproducibility report (kernel command line,
// os-release): an LCS over lines, printed as `-published` / `+rebuilt`, unchanged lines as
// `  line`. Single-line texts that differ (a command line) also get a `^` marker line under the
// first differing column, so a one-byte change is visible. Pure.
const MAX_LINES = 400;
const MAX_OUT = 40;

/** Text files larger than this are compared by digest only. */
export const MAX_TEXT_DIFF = 64 * 1024;

/** The bytes as UTF-8 text when they are small, NUL-free and valid UTF-8; else undefined. */
export function asText(b: Uint8Array): string | undefined {
  if (b.length > MAX_TEXT_DIFF || b.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return undefined;
  }
}

export function lineDiff(published: string, rebuilt: string): string[] {
  const a = published.split('\n').slice(0, MAX_LINES);
  const b = rebuilt.split('\n').slice(0, MAX_LINES);
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      (lcs[i] as number[])[j] =
        a[i] === b[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, (lcs[i] as number[])[j + 1] as number);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i] as string}`);
      i++;
      j++;
    } else if (
      i < n &&
      (j >= m || ((lcs[i + 1] as number[])[j] as number) >= ((lcs[i] as number[])[j + 1] as number))
    ) {
      out.push(`- ${a[i] as string}`);
      i++;
    } else {
      out.push(`+ ${b[j] as string}`);
      j++;
    }
  }
  if (n === 1 && m === 1 && a[0] !== b[0]) {
    const x = a[0] as string;
    const y = b[0] as string;
    let k = 0;
    while (k < x.length && x[k] === y[k]) k++;
    out.push(`  ${' '.repeat(k)}^ first difference at character ${k}`);
  }
  return out.slice(0, MAX_OUT);
}
