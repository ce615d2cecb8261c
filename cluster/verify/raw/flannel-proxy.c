// flanneld's udp backend proxy for the verifier's twin (flannel pkg/backend/udp, proxy_amd64.c:
// tun_to_udp / udp_to_tun), written for this project: one TUN device and one UDP socket bound to
// the node's public address and port, a userspace route table of the remote leases (subnet →
// public IP), and per packet:
// - TUN → UDP: the lease whose subnet holds the destination; none → an ICMP destination
//   unreachable (net unreachable, TTL 8, from the TUN's address, quoting the header and 8 bytes;
//   never about ICMP or a non-first fragment) written back into the TUN; then the TTL is
//   decremented (0 → dropped) and the whole IPv4 packet is the payload of one datagram to
//   <lease public IP>:PORT;
// - UDP → TUN: decrement the TTL (0 → dropped), write into the TUN.
// Usage: flannel-proxy IFNAME TUN_ADDR BIND_ADDR PORT [NET/LEN=PEER ...]; prints "ready" once the
// TUN is attached and the socket bound, runs until SIGTERM or its stdin closes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ROUTES 1024
struct route { uint32_t net, mask; struct sockaddr_in peer; };
static struct route routes[MAX_ROUTES];
static int nroutes;

static uint16_t csum(const uint8_t *p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
  if (n & 1) s += (uint32_t)p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

// The kernel's ip_decrease_ttl: the checksum updated for the TTL byte (RFC 1624). 0 when the TTL runs out.
static int decrement_ttl(uint8_t *ip) {
  if (ip[8] <= 1) return 0;
  uint32_t check = ((uint32_t)ip[10] << 8 | ip[11]) + 0x0100;
  check = (check + (check >= 0xffff)) & 0xffff;
  ip[10] = check >> 8; ip[11] = check & 0xff;
  ip[8]--;
  return 1;
}

static const struct route *find(uint32_t dst) {
  for (int i = 0; i < nroutes; i++) if ((dst & routes[i].mask) == routes[i].net) return &routes[i];
  return 0;
}

static void net_unreachable(int tun, const uint8_t *ip, size_t n, uint32_t tun_addr) {
  size_t hl = (size_t)(ip[0] & 15) * 4;
  if (hl < 20 || hl > 60 || n < hl) return;
  if (ip[9] == 1) return;                                  // no ICMP about ICMP
  if ((((uint32_t)ip[6] << 8 | ip[7]) & 0x1fff) != 0) return; // only for a first fragment
  size_t q = hl + 8 < n ? hl + 8 : n;
  uint8_t out[20 + 8 + 68];
  size_t len = 28 + q;
  memset(out, 0, sizeof out);
  out[0] = 0x45; out[2] = len >> 8; out[3] = len & 0xff; out[8] = 8; out[9] = 1;
  memcpy(out + 12, &tun_addr, 4); memcpy(out + 16, ip + 12, 4);
  uint16_t c = csum(out, 20); out[10] = c >> 8; out[11] = c & 0xff;
  out[20] = 3; out[21] = 0; memcpy(out + 28, ip, q);
  c = csum(out + 20, 8 + q); out[22] = c >> 8; out[23] = c & 0xff;
  if (write(tun, out, len) < 0) {}
}

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: flannel-proxy IFNAME TUN_ADDR BIND_ADDR PORT [NET/LEN=PEER ...]\n"); return 2; }
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_term; sigaction(SIGTERM, &sa, 0);
  uint32_t tun_addr; int port = atoi(argv[4]);
  if (inet_pton(AF_INET, argv[2], &tun_addr) != 1) { fprintf(stderr, "bad TUN_ADDR %s\n", argv[2]); return 2; }
  for (int i = 5; i < argc && nroutes < MAX_ROUTES; i++) {
    char net[32], peer[32]; int len;
    if (sscanf(argv[i], "%31[0-9.]/%d=%31[0-9.]", net, &len, peer) != 3 || len < 0 || len > 32) { fprintf(stderr, "bad route %s\n", argv[i]); return 2; }
    struct route *r = &routes[nroutes++];
    r->mask = htonl(len == 0 ? 0 : 0xffffffffu << (32 - len));
    if (inet_pton(AF_INET, net, &r->net) != 1 || inet_pton(AF_INET, peer, &r->peer.sin_addr) != 1) { fprintf(stderr, "bad route %s\n", argv[i]); return 2; }
    r->net &= r->mask; r->peer.sin_family = AF_INET; r->peer.sin_port = htons(port);
  }
  int tun = open("/dev/net/tun", O_RDWR);
  if (tun < 0) { perror("open /dev/net/tun"); return 1; }
  struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI; strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (ioctl(tun, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); return 1; }
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in l; memset(&l, 0, sizeof l); l.sin_family = AF_INET; l.sin_port = htons(port);
  if (inet_pton(AF_INET, argv[3], &l.sin_addr) != 1 || bind(u, (void *)&l, sizeof l) < 0) { perror("bind"); return 1; }
  printf("ready\n"); fflush(stdout);
  static uint8_t buf[65536];
  struct pollfd fds[3] = {{tun, POLLIN, 0}, {u, POLLIN, 0}, {0, POLLIN, 0}};
  while (!stop) {
    if (poll(fds, 3, 500) <= 0) continue;
    if (fds[2].revents & (POLLIN | POLLHUP)) { if (read(0, buf, sizeof buf) <= 0) break; }
    if (fds[0].revents & POLLIN) {
      ssize_t n = read(tun, buf, sizeof buf);
      if (n >= 20) {
        uint32_t dst; memcpy(&dst, buf + 16, 4);
        const struct route *r = find(dst);
        if (!r) net_unreachable(tun, buf, (size_t)n, tun_addr);
        else if (decrement_ttl(buf)) sendto(u, buf, (size_t)n, 0, (void *)&r->peer, sizeof r->peer);
      }
    }
    if (fds[1].revents & POLLIN) {
      ssize_t n = recv(u, buf, sizeof buf, 0);
      if (n >= 20 && decrement_ttl(buf)) { if (write(tun, buf, (size_t)n) < 0) {} }
    }
  }
  return 0;
}
