/**
 * The serviceaccounts controller (kube-controller-manager's
 * pkg/controller/serviceaccount/serviceaccounts_controller.go): every active namespace
 * has a `default` ServiceAccount; one deleted is made again. Namespaces being deleted
 * are left alone. Not modelled: the token controller (no token Secrets, no
 * TokenRequest).
 */
import type { Namespace, ServiceAccount } from '../api/index.ts';
import type { ControlApi, Controller } from './types.ts';
import { isRace } from './types.ts';

/** The ServiceAccounts every namespace gets (the controller's --service-account names). */
export const DEFAULT_SERVICE_ACCOUNTS = ['default'] as const;

export class ServiceAccountsController implements Controller {
  readonly name = 'serviceaccount';
  constructor(private readonly api: ControlApi) {}

  async sync(): Promise<number> {
    const namespaces = await this.api.list<Namespace>('namespaces');
    const have = new Set((await this.api.list<ServiceAccount>('serviceaccounts')).map((sa) => `${sa.metadata.namespace ?? ''}/${sa.metadata.name ?? ''}`));
    let writes = 0;
    for (const ns of namespaces) {
      const name = ns.metadata.name;
      if (name === undefined || ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') continue;
      for (const sa of DEFAULT_SERVICE_ACCOUNTS) {
        if (have.has(`${name}/${sa}`)) continue;
        try {
          await this.api.create<ServiceAccount>('serviceaccounts', name, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: name } });
          writes++;
        } catch (e) {
          // 409 AlreadyExists (made meanwhile), 404 (namespace gone), 403 (namespace terminating): the next pass decides.
          const code = (e as { code?: unknown } | null)?.code;
          if (!isRace(e) && code !== 403) throw e;
        }
      }
    }
    return writes;
  }
}
