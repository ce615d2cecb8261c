// Flannel-UDP-like forwarder for the real-kernel datapath baseline (adapted from the project's
// reference anchor): one TUN device <-> one UDP socket, single peer, single thread, poll loop,
// as flanneld's UDP backend (proxy.c: tun_to_udp / udp_to_tun) does per packet: one read and one
// sendto out, one recv and one write in. Runs until SIGTERM or SECONDS pass, then prints its
// packet counts and its own CPU (getrusage: user + system, which includes the softirq work the
// kernel did in this process's context, see datapath.bench.ts).
// Usage: tunproxy IFNAME LOCAL_PORT PEER_IP PEER_PORT SECONDS
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

int main(int c, char **v) {
  if (c < 6) { fprintf(stderr, "usage: tunproxy IFNAME LOCAL_PORT PEER_IP PEER_PORT SECONDS\n"); return 2; }
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_term; sigaction(SIGTERM, &sa, 0);
  int t = open("/dev/net/tun", O_RDWR);
  if (t < 0) { perror("tun"); return 1; }
  struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI; strncpy(ifr.ifr_name, v[1], IFNAMSIZ - 1);
  if (ioctl(t, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); return 1; }
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  // A large receive buffer (SO_RCVBUFFORCE: root, past rmem_max) so that a forwarder the
  // loaded machine deschedules for a while queues its backlog instead of dropping it: the
  // bench divides by delivered packets and should not charge the kernel for drops it would
  // not have on an idle machine.
  int big = 16 << 20; setsockopt(u, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  struct sockaddr_in l = {0}; l.sin_family = AF_INET; l.sin_port = htons(atoi(v[2]));
  if (bind(u, (void *)&l, sizeof l) < 0) { perror("bind"); return 1; }
  struct sockaddr_in p = {0}; p.sin_family = AF_INET; p.sin_port = htons(atoi(v[4])); inet_pton(AF_INET, v[3], &p.sin_addr);
  time_t end = time(0) + atoi(v[5]);
  static char buf[65536]; struct pollfd fds[2] = {{t, POLLIN, 0}, {u, POLLIN, 0}};
  unsigned long n_tx = 0, n_rx = 0;
  printf("ready %s\n", v[1]); fflush(stdout);
  while (!stop && time(0) < end) {
    if (poll(fds, 2, 500) <= 0) continue;
    if (fds[0].revents & POLLIN) { ssize_t r = read(t, buf, sizeof buf); if (r > 0) { sendto(u, buf, r, 0, (void *)&p, sizeof p); n_tx++; } }
    if (fds[1].revents & POLLIN) { ssize_t r = recv(u, buf, sizeof buf, 0); if (r > 0) { if (write(t, buf, r) < 0) {} n_rx++; } }
  }
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  printf("%s tx=%lu rx=%lu cpu_us=%ld\n", v[1], n_tx, n_rx,
         ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
  return 0;
}
