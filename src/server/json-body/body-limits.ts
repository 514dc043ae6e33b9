/** Room for a batch of events (1 MiB); larger bodies are refused with 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Far deeper than any event needs; deeper bodies would exhaust the validators' stack. */
export const MAX_BODY_DEPTH = 64;
