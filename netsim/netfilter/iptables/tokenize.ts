/**
 * Split one iptables-restore line into arguments the way iptables-restore 1.8 does
 * (xshared.c add_param_to_argv): spaces and tabs separate; a double quote opens a
 * quoted part that may join the word before it, and the closing quote ends the
 * argument (so `""` is an empty argument and `ab"c d"` is `abc d`); inside quotes a
 * backslash takes the next character literally. Outside quotes a backslash and a
 * single quote are ordinary characters.
 *
 * Deliberate difference: the real tool lets an unterminated quote swallow the rest
 * of the line, newline included (a comment with a newline, which its own
 * iptables-save then prints unrestorably); here that is an error.
 */
import { IptablesError } from './errors.ts';

export function tokenize(line: string, lineNo?: number): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (inQuote) {
      if (c === '\\' && i + 1 < line.length) cur += line[++i];
      else if (c === '"') {
        inQuote = false;
        out.push(cur);
        cur = '';
      } else cur += c;
    } else if (c === '"') inQuote = true;
    else if (c === ' ' || c === '\t') {
      if (cur !== '') out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (inQuote) throw new IptablesError('IPT_PARSE', 'unterminated quoted string', lineNo);
  if (cur !== '') out.push(cur);
  return out;
}
