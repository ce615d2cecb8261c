import { CodedError } from '../../netsim/errors.ts';

/** A run that cannot go on: the experiment names something the cluster lacks, or the cluster never got ready. */
export class ExperimentRunError extends CodedError {
  readonly code = 'NETSIM_EXP_RUN';
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentRunError';
  }
}
