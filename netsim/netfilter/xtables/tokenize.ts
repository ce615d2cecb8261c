/**
 * Split one iptables-restore line into arguments as iptables-restore does: runs of
 * spaces/tabs separate arguments; a double-quoted run joins into one argument;
 * inside quotes `\"` and `\\` stand for the escaped character (single quotes are
 * ordinary characters). Returns undefined for an unterminated quote.
 */
export function tokenizeLine(line: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let inArg = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '\\' && i + 1 < line.length && (line[i + 1] === '"' || line[i + 1] === '\\')) {
        cur += line[++i];
      } else if (c === '"') {
        quoted = false;
      } else {
        cur += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      inArg = true;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      if (inArg) out.push(cur);
      cur = '';
      inArg = false;
    } else {
      cur += c;
      inArg = true;
    }
  }
  if (quoted) return undefined;
  if (inArg) out.push(cur);
  return out;
}
