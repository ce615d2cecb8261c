/**
 * When `netsim up` should stop: SIGINT, SIGTERM, or — when npm started it (`npx netsim up`,
 * `npm exec`, `npm run`) — the death of its parent. npm runs the command through
 * `sh -c`, forwards SIGTERM to that shell only, and dash dies without passing it on:
 * the server would be left running as an orphan of init, holding its port. npm sets
 * `npm_command` in the environment of what it runs; only then is a changed parent
 * pid taken as the request to stop (a server started with `nohup … &` must survive its shell).
 */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'parent exited';

/** How often the parent is checked (ms); a check is one getppid(). */
const PARENT_POLL_MS = 250;

export function waitForStop(env: NodeJS.ProcessEnv = process.env): Promise<StopReason> {
  return new Promise((done) => {
    const parent = process.ppid;
    let poll: NodeJS.Timeout | undefined;
    const finish = (r: StopReason): void => {
      if (poll !== undefined) clearInterval(poll);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      done(r);
    };
    const onInt = (): void => finish('SIGINT');
    const onTerm = (): void => finish('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (env['npm_command'] !== undefined) {
      poll = setInterval(() => { if (process.ppid !== parent) finish('parent exited'); }, PARENT_POLL_MS);
      poll.unref();
    }
  });
}
