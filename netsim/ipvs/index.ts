/**
 * netsim/ipvs — the in-kernel load balancer of kube-proxy's IPVS mode (see ipvs.ts
 * for the contract and what is not modelled). It plugs into the namespace's
 * NetfilterStack (`nf.ipvs = new Ipvs(...)`).
 */
export * from './ipvs.ts';
