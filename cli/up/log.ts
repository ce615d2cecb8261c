/**
 * The log of `netsim up`: one line per event on stderr, `<ISO time> <LEVEL> <message>`,
 * filtered by `--log-level` (error < warn < info < debug). stdout keeps only what a
 * script reads (the listening line, the `export KUBECONFIG=` line).
 */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l), now: () => Date = () => new Date()): Logger {
  const max = LOG_LEVELS.indexOf(level);
  const enabled = (l: LogLevel): boolean => LOG_LEVELS.indexOf(l) <= max;
  const at = (l: LogLevel) => (msg: string): void => {
    if (enabled(l)) write(`${now().toISOString()} ${l.toUpperCase().padEnd(5)} ${msg}\n`);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
