// A mistake in how the tool was invoked: reported as one line, exit code 2. Its own module so
// that any stage can raise it without importing the configuration (and its parsers).
export class UsageError extends Error {}
