// Sender for the real-kernel datapath baseline: COUNT 64-byte UDP datagrams from one socket
// (one fixed source port, so one established conntrack flow) to DST:PORT, paced at RATE
// datagrams per second in bursts of 16 with clock_nanosleep between them (no busy wait, so
// pacing costs no CPU to speak of). Prints what it sent and its own CPU (getrusage).
// Usage: udpblast DST PORT COUNT RATE SPORT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>

int main(int c, char **v) {
  if (c < 6) { fprintf(stderr, "usage: udpblast DST PORT COUNT RATE SPORT\n"); return 2; }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(atoi(v[5]));
  if (bind(s, (void *)&a, sizeof a) < 0) { perror("bind"); return 1; }
  struct sockaddr_in d = {0}; d.sin_family = AF_INET; d.sin_port = htons(atoi(v[2]));
  if (inet_pton(AF_INET, v[1], &d.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
  long n = atol(v[3]); double rate = atof(v[4]);
  char msg[64]; memset(msg, 'x', sizeof msg);
  struct timespec next; clock_gettime(CLOCK_MONOTONIC, &next);
  long gap = (long)(16 * 1e9 / rate), sent = 0;
  for (long i = 0; i < n; i++) {
    if (sendto(s, msg, sizeof msg, 0, (void *)&d, sizeof d) == (ssize_t)sizeof msg) sent++;
    if ((i & 15) == 15) {
      next.tv_nsec += gap;
      while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, 0);
    }
  }
  struct rusage ru; getrusage(RUSAGE_SELF, &ru);
  printf("sender tx=%ld cpu_us=%ld\n", sent,
         ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
  return 0;
}
