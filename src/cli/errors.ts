/** Errors the CLI maps to exit code 2 (bad usage or configuration). */
export class UsageError extends Error {
  override name = 'UsageError';
}
