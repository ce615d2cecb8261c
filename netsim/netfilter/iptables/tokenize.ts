/**
 * Split one iptables-restore line into arguments the way iptables-restore does:
 * whitespace separates, double and single quotes group (the quotes are removed),
 * and a backslash escapes the next character inside double quotes.
 */
import { IptablesError } from './errors.ts';

export function tokenize(line: string, lineNo?: number): string[] {
  const out: string[] = [];
  let cur = '';
  let have = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      have = true;
    } else if (c === ' ' || c === '\t') {
      if (have) out.push(cur);
      cur = '';
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (quote !== undefined) throw new IptablesError('IPT_PARSE', 'unterminated quoted string', lineNo);
  if (have) out.push(cur);
  return out;
}
