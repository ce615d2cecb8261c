/**
 * The nft scanner (src/scanner.l), reduced to what the grammar here needs: words
 * (keywords, identifiers, numbers, addresses, prefixes, ranges and `addr:port` all
 * scan as one word; the parser reads them by context), quoted strings, punctuation,
 * and newlines, which end a command as `;` does. `#` starts a comment to the end of
 * the line; a backslash before a newline continues the line.
 */
import { NftError } from './errors.ts';

export type TokKind = 'word' | 'string' | 'punct' | 'nl' | 'eof';

export interface Token {
  readonly kind: TokKind;
  /** The word, the string's contents, the punctuation, '\n' or ''. */
  readonly text: string;
  readonly line: number;
  readonly col: number;
  readonly endCol: number;
}

const PUNCT2 = ['==', '!=', '<=', '>=', '<<', '>>'];
const PUNCT1 = '{};,:@=!<>|&^()[]*$+';

function isWordStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_';
}

function isWordChar(c: string): boolean {
  return isWordStart(c) || c === '.' || c === '/' || c === '-';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Tokens of `src`; throws NftError on an unterminated string or a character nft does not know. */
export function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i] as string;
    const col = i - lineStart + 1;
    if (c === '\n') {
      out.push({ kind: 'nl', text: '\n', line, col, endCol: col });
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '\\' && (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n'))) {
      i += src[i + 1] === '\n' ? 2 : 3;
      line++;
      lineStart = i;
      continue;
    }
    if (c === '#') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < n && src[j] !== '"' && src[j] !== '\n') j++;
      if (j >= n || src[j] !== '"') throw new NftError('NFT_SYNTAX', 'syntax error, unterminated string', { line, col, endCol: j - lineStart });
      out.push({ kind: 'string', text: src.slice(i + 1, j), line, col, endCol: j - lineStart + 1 });
      i = j + 1;
      continue;
    }
    // A word: identifiers, numbers, addresses; `-` may start a negative number.
    if (isWordStart(c) || (c === '-' && isDigit(src[i + 1]))) {
      let j = i + 1;
      while (j < n) {
        const d = src[j] as string;
        if (isWordChar(d)) { j++; continue; }
        // `addr:port`, `:port-port` inside a word (`dnat to 10.0.0.1:80`).
        if (d === ':' && isDigit(src[j + 1]) && isDigit(src[j - 1])) { j++; continue; }
        break;
      }
      out.push({ kind: 'word', text: src.slice(i, j), line, col, endCol: j - lineStart });
      i = j;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT2.includes(two)) {
      out.push({ kind: 'punct', text: two, line, col, endCol: col + 1 });
      i += 2;
      continue;
    }
    if (PUNCT1.includes(c) || c === '.' || c === '-' || c === '/') {
      out.push({ kind: 'punct', text: c, line, col, endCol: col });
      i++;
      continue;
    }
    throw new NftError('NFT_SYNTAX', `syntax error, unexpected junk`, { line, col, endCol: col });
  }
  out.push({ kind: 'eof', text: '', line, col: i - lineStart + 1, endCol: i - lineStart + 1 });
  return out;
}
