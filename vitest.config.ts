// Timeouts are a guard against hangs, not a speed requirement: the machine
// running the tests (2 cores, often shared) may be slow. Speed is measured by
// `npm run bench`, never asserted in a test.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 300_000,
  },
});
