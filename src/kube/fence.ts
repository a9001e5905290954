/**
 * What a writer needs of a term of leadership (`controller/term.ts`): whether it may write now,
 * checked right before each request, and the signal that ends the term (queued writes dropped,
 * requests in flight cancelled).
 */
export interface Fence {
  readonly signal: AbortSignal;
  holds(): boolean;
}
