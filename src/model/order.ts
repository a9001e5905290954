/**
 * Text order for names, keys and kinds: by UTF-16 code unit, as Go's `sort.Strings` and kubectl
 * order them. Not `localeCompare`: that one follows the process's locale (the same report could sort
 * differently on two machines) and loads ICU's collation data, ~2.5 MiB of resident memory in every
 * process that compares once, and it is slower in the rules' hot path.
 */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
