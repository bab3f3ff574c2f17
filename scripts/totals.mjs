// Prints `N passed, N failed, N skipped` from one or more vitest JSON reports; exits 1 if a report
// is missing (the run crashed) or any test failed.
import { readFileSync } from 'node:fs';

let passed = 0,
  failed = 0,
  skipped = 0,
  ok = true;
for (const file of process.argv.slice(2)) {
  let r;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    console.error(`totals: no report ${file}: ${err.message}`);
    ok = false;
    continue;
  }
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  // a suite that failed to load counts as a failure even though it has no failed test
  const broken = r.testResults.filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length;
  failed += broken;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(ok && failed === 0 ? 0 : 1);
