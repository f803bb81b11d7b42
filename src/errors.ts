/**
 * The user asked for something that cannot be done as asked (bad option value,
 * path outside --root, unknown --arch). The CLI prints the message on one line
 * and exits 2, so the message should say what to do instead.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}
