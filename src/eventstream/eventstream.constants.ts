/** Injection token of the validated {@link EventStreamConfig}. */
export const EVENTSTREAM_CONFIG = Symbol('EVENTSTREAM_CONFIG');
