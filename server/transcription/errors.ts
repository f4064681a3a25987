/** Failures of a transcription attempt, with a stable snake_case code shown to users as the reason. */

/** A typed transcription failure. `final`: retrying cannot help (the run fails at once). */
export class TranscriptionError extends Error {
  readonly code: string;
  readonly final: boolean;
  constructor(code: string, message: string, final: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TranscriptionError';
    this.code = code;
    this.final = final;
  }
}

/** Thrown inside a run when its worker is shutting down or lost its lease: the run is handed back. */
export class RunAbortedError extends Error {
  constructor(message = 'the transcription attempt was stopped') {
    super(message);
    this.name = 'RunAbortedError';
  }
}
