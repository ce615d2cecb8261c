// Receiver for the real-kernel datapath baseline: counts UDP datagrams on PORT until SIGTERM
// or SECONDS pass, then prints the count and its own CPU (getrusage).
// Usage: udpsink PORT SECONDS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }

int main(int c, char **v) {
  if (c < 3) { fprintf(stderr, "usage: udpsink PORT SECONDS\n"); return 2; }
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_term; sigaction(SIGTERM, &sa, 0);
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  int big = 16 << 20; setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big); // as tunproxy.c
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(atoi(v[1]));
  if (bind(s, (void *)&a, sizeof a) < 0) { perror("bind"); return 1; }
  struct timeval tv = {0, 200000}; setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  time_t end = time(0) + atoi(v[2]); char b[2048]; unsigned long rx = 0;
  printf("ready sink\n"); fflush(stdout);
  while (!stop && time(0) < end) if (recv(s, b, sizeof b, 0) > 0) rx++;
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  printf("sink rx=%lu cpu_us=%ld\n", rx,
         ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
  return 0;
}
