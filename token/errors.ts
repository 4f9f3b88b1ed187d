/** Base of the module's input errors: each names the offending field (an option, variable or flag) first. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
