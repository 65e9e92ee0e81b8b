/** Thrown by message builders when asked to produce a message the spec (or a counterparty's rules) forbids. */
export class MessageBuildError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MessageBuildError'
  }
}

export function buildAssert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new MessageBuildError(message)
}
