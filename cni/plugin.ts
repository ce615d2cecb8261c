/**
 * The plugin protocol, in process: a plugin is a function from `{ env, stdin, host }`
 * to `{ stdout, code }`, exactly what exec'ing a real plugin binary gives (the env map
 * and stdin in, stdout and the exit status out), so the same vectors run against the
 * real containernetworking binaries and these.
 *
 * {@link pluginMain} is the skeleton every plugin here uses (containernetworking
 * pkg/skel's shape): VERSION first, then the environment (code 4), the config on
 * stdin (code 6/7), the version (code 1), the command's version floor (CHECK needs
 * 0.4.0, GC and STATUS 1.1.0), then the handler. Every failure, including a bug in a
 * handler, leaves as error JSON with a non-zero exit: a plugin never throws.
 */
import { CniError, cniError } from './errors.ts';
import type { CniHost } from './host.ts';
import { decodePluginConf } from './spec/config.ts';
import { parseEnv, parseCommand } from './spec/env.ts';
import { parseResult, printJson, resultForVersion } from './spec/result.ts';
import type { Attachment, CniArgs, CniEnv, CniResult, PluginConf } from './spec/types.ts';
import { SPEC_VERSION, SUPPORTED_VERSIONS, compareVersions, requireSupported, versionInfo } from './spec/version.ts';

export interface PluginInvocation {
  readonly env: CniEnv;
  readonly stdin: string;
  readonly host: CniHost;
}

export interface PluginOutput {
  readonly stdout: string;
  /** Exit status: 0 on success. */
  readonly code: number;
}

export type CniPlugin = (inv: PluginInvocation) => PluginOutput;

export interface PluginContext {
  readonly args: CniArgs;
  readonly conf: PluginConf;
  readonly env: CniEnv;
  readonly stdin: string;
  readonly host: CniHost;
}

export interface PluginHandlers {
  add(ctx: PluginContext): CniResult;
  del(ctx: PluginContext): void;
  check?(ctx: PluginContext): void;
  gc?(ctx: PluginContext, valid: Attachment[]): void;
  status?(ctx: PluginContext): void;
  readonly supportedVersions?: readonly string[];
}

function failure(e: unknown, cniVersion: string): PluginOutput {
  const err = e instanceof CniError ? e : new CniError(999, e instanceof Error ? e.message : String(e));
  return { stdout: printJson(err.toJSON(cniVersion)), code: 1 };
}

/** Build a protocol-speaking plugin from its command handlers. */
export function pluginMain(h: PluginHandlers): CniPlugin {
  const supported = h.supportedVersions ?? SUPPORTED_VERSIONS;
  return ({ env, stdin, host }) => {
    let cniVersion = SPEC_VERSION as string;
    try {
      const command = parseCommand(env);
      if (command === 'VERSION') return { stdout: JSON.stringify(versionInfo(SPEC_VERSION, supported)), code: 0 };
      const args = parseEnv(env);
      const conf = decodePluginConf(stdin);
      requireSupported(conf.cniVersion, supported);
      cniVersion = conf.cniVersion;
      const ctx: PluginContext = { args, conf, env, stdin, host };
      switch (command) {
        case 'ADD':
          return { stdout: printJson(resultForVersion(h.add(ctx), conf.cniVersion)), code: 0 };
        case 'DEL':
          h.del(ctx);
          return { stdout: '', code: 0 };
        case 'CHECK':
          if (compareVersions(conf.cniVersion, '0.4.0') < 0) throw cniError('INCOMPATIBLE_VERSION', 'config version does not allow CHECK');
          h.check?.(ctx);
          return { stdout: '', code: 0 };
        case 'GC': {
          if (compareVersions(conf.cniVersion, '1.1.0') < 0) throw cniError('INCOMPATIBLE_VERSION', 'config version does not allow GC');
          h.gc?.(ctx, validAttachments(conf));
          return { stdout: '', code: 0 };
        }
        case 'STATUS':
          if (compareVersions(conf.cniVersion, '1.1.0') < 0) throw cniError('INCOMPATIBLE_VERSION', 'config version does not allow STATUS');
          h.status?.(ctx);
          return { stdout: '', code: 0 };
      }
    } catch (e) {
      return failure(e, cniVersion);
    }
  };
}

/** GC's `cni.dev/valid-attachments`. */
export function validAttachments(conf: PluginConf): Attachment[] {
  const raw = conf['cni.dev/valid-attachments'];
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw cniError('INVALID_NETWORK_CONFIG', 'invalid network config', '"cni.dev/valid-attachments" must be a list');
  return raw.map((a) => {
    if (typeof a !== 'object' || a === null || typeof (a as Attachment).containerID !== 'string' || typeof (a as Attachment).ifname !== 'string') {
      throw cniError('INVALID_NETWORK_CONFIG', 'invalid network config', 'valid-attachments entries need containerID and ifname');
    }
    return { containerID: (a as Attachment).containerID, ifname: (a as Attachment).ifname };
  });
}

/** prevResult of a chained plugin, read into the 1.x shape (undefined when absent). */
export function prevResultOf(conf: PluginConf): CniResult | undefined {
  return conf.prevResult === undefined || conf.prevResult === null ? undefined : parseResult(conf.prevResult);
}

// ----------------------------------------------------------------- exec and delegation (pkg/invoke)

/** Run the plugin of `type` found in CNI_PATH (here: the host's plugin table). */
export function execPlugin(host: CniHost, type: string, env: CniEnv, stdin: string): PluginOutput {
  const p = Object.prototype.hasOwnProperty.call(host.plugins, type) ? host.plugins[type] : undefined;
  if (p === undefined) {
    throw new CniError(999, `failed to find plugin "${type}" in path [${(env['CNI_PATH'] ?? '').split(':').join(' ')}]`);
  }
  return p({ env, stdin, host });
}

function delegate(ctx: PluginContext, type: string, command: 'ADD' | 'DEL' | 'CHECK', conf: unknown): PluginOutput {
  const out = execPlugin(ctx.host, type, { ...ctx.env, CNI_COMMAND: command }, JSON.stringify(conf));
  if (out.code !== 0) {
    let j: unknown;
    try {
      j = JSON.parse(out.stdout);
    } catch {
      throw new CniError(999, `netplugin failed with no error message: ${out.stdout}`);
    }
    throw CniError.fromJson(j);
  }
  return out;
}

/** `invoke.DelegateAdd`: the delegate's result, parsed. */
export function delegateAdd(ctx: PluginContext, type: string, conf: unknown): CniResult {
  const out = delegate(ctx, type, 'ADD', conf);
  try {
    return parseResult(JSON.parse(out.stdout));
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw cniError('DECODE_FAILURE', `failed to parse ${type} result`, (e as Error).message);
  }
}

export function delegateDel(ctx: PluginContext, type: string, conf: unknown): void {
  delegate(ctx, type, 'DEL', conf);
}

export function delegateCheck(ctx: PluginContext, type: string, conf: unknown): void {
  delegate(ctx, type, 'CHECK', conf);
}
