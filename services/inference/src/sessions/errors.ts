export type SessionWorkerErrorCode =
  /** The session could not be created in its worker (the message is ONNX Runtime's). */
  | 'SESSION_CREATE_FAILED'
  /** `run` failed inside ONNX Runtime (the message is ONNX Runtime's). */
  | 'RUN_FAILED'
  /** The worker thread died; the runs it held are lost and the session is being re-created. */
  | 'WORKER_EXITED'
  /** The session was released. */
  | 'SESSION_RELEASED';

/** A failure of an ONNX Runtime session that runs on its own worker thread (WorkerSession). */
export class SessionWorkerError extends Error {
  override readonly name = 'SessionWorkerError';

  constructor(
    readonly code: SessionWorkerErrorCode,
    /** The model file of the session. */
    readonly modelPath: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
