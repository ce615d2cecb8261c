/**
 * Object names against upstream's vectors (proxier_test.go
 * Test_servicePortChainNameBase, Test_servicePortEndpointChainNameBase): the hash
 * prefix, the IPv6 colon rewrite and the truncation at 240 characters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointChainNameBase, isServiceChainName, servicePortChainNameBase } from './names.ts';

const LONG = {
  service: 'very-long-namespace-name-abcdefghijklmnopqrstuvwxyz0123456789xx/very-long-service-name-why-would-you-even-do-this-i-mean-really',
  portName: 'port-443-providing-the-hypertext-transmission-protocol-with-tls',
  protocol: 'sctp' as const,
};
const SIMPLE = { service: 'testing/service', portName: 'http', protocol: 'tcp' as const };

test('servicePortChainNameBase: upstream vectors', () => {
  assert.equal(servicePortChainNameBase(SIMPLE), 'P4ZYZVCF-testing/service/tcp/http');
  assert.equal(servicePortChainNameBase({ ...SIMPLE, portName: 'https' }), 'LZBRENCP-testing/service/tcp/https');
  assert.equal(servicePortChainNameBase(LONG), `KR6NACJP-${LONG.service}/sctp/${LONG.portName}`);
});

test('endpointChainNameBase: upstream vectors, IPv6 colons and truncation', () => {
  assert.equal(endpointChainNameBase(SIMPLE, '10.180.0.1:80'), 'JO2XBXZR-testing/service/tcp/http__10.180.0.1/80');
  assert.equal(endpointChainNameBase(SIMPLE, '10.180.0.2:80'), '5S6H3H22-testing/service/tcp/http__10.180.0.2/80');
  assert.equal(endpointChainNameBase(SIMPLE, '[fd80:abcd:12::a1b2:c3d4:e5f6:9999]:80'), 'U7E2ET36-testing/service/tcp/http__fd80.abcd.12..a1b2.c3d4.e5f6.9999/80');
  assert.equal(endpointChainNameBase(LONG, '[1234:5678:9abc:def0::abc:1234]:443'), `5YS7AFEA-${LONG.service}/sctp/${LONG.portName}__1234.5678.9abc.def0..abc.1234/443`);
  const t1 = endpointChainNameBase(LONG, '[1234:5678:9abc:def0::abcd:1234:5678]:443');
  const t2 = endpointChainNameBase(LONG, '[1234:5678:9abc:def0::abcd:1234:8765]:443');
  assert.equal(t1, `CI6C53Q3-${LONG.service}/sctp/${LONG.portName}__1234.5678.9abc.def0..abcd.1234...`);
  assert.equal(t2, `2FLXFK6X-${LONG.service}/sctp/${LONG.portName}__1234.5678.9abc.def0..abcd.1234...`);
  assert.equal(t1.length, 240);
});

test('only per-service chains have a slash (upstream isServiceChainName)', () => {
  assert.equal(isServiceChainName(`service-${servicePortChainNameBase(SIMPLE)}`), true);
  for (const c of ['services', 'nat-prerouting', 'mark-for-masquerade', 'reject-chain']) assert.equal(isServiceChainName(c), false);
});
