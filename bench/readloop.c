/* Per-file cost of three ways to touch a file, for bench/overlay_reads.sh.
 *
 *   readloop DIR N ROUNDS
 *
 * DIR holds the files f1..fN. One round runs over all N files once for each of
 *   stat             fstatat(dirfd, "fI", &st, 0)
 *   open             openat(dirfd, "fI", O_RDONLY) + close
 *   read             openat + read() into a 64 KiB buffer until it returns 0 + close
 * (the three interleaved in each round, so that drift hits them alike), timed with
 * CLOCK_MONOTONIC. A first round warms the caches and is not counted; then ROUNDS rounds.
 * Names are relative to an fd of DIR, so each call resolves one component: DIR's own path
 * is not walked again for every file.
 *
 * Prints one line of nanoseconds per file, the median round of each, and the 25th/75th
 * percentile rounds:
 *   stat=1283 open=2401 read=3702 stat_p25=... stat_p75=... open_p25=... ... files=N rounds=R
 * Exit status 1, with a message on stderr, when a call fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { STAT, OPEN, READ, MODES };
static const char *const mode_name[MODES] = {"stat", "open", "read"};

static char buf[65536];

static void die(const char *what, const char *name) {
  fprintf(stderr, "readloop: %s %s: %s\n", what, name, strerror(errno));
  exit(1);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One pass of MODE over every file; returns nanoseconds per file. */
static double pass(int mode, int dirfd, char **names, int n) {
  struct stat st;
  long long t0 = now_ns();
  for (int i = 0; i < n; i++) {
    if (mode == STAT) {
      if (fstatat(dirfd, names[i], &st, 0) != 0) die("stat", names[i]);
      continue;
    }
    int fd = openat(dirfd, names[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open", names[i]);
    if (mode == READ) {
      ssize_t got;
      while ((got = read(fd, buf, sizeof buf)) > 0) {
      }
      if (got < 0) die("read", names[i]);
    }
    if (close(fd) != 0) die("close", names[i]);
  }
  return (double)(now_ns() - t0) / n;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The value at quantile Q of the sorted array V[R] (nearest rank). */
static double quantile(const double *v, int r, double q) {
  int i = (int)(q * (r - 1) + 0.5);
  return v[i];
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: readloop DIR N ROUNDS\n");
    return 2;
  }
  int n = atoi(argv[2]), rounds = atoi(argv[3]);
  if (n < 1 || rounds < 1) {
    fprintf(stderr, "readloop: N and ROUNDS must be positive\n");
    return 2;
  }
  int dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("open", argv[1]);

  char **names = calloc(n, sizeof *names);
  double *t[MODES];
  for (int m = 0; m < MODES; m++) t[m] = calloc(rounds, sizeof(double));
  if (!names || !t[STAT] || !t[OPEN] || !t[READ]) die("calloc", "");
  for (int i = 0; i < n; i++)
    if (asprintf(&names[i], "f%d", i + 1) < 0) die("asprintf", "");

  for (int m = 0; m < MODES; m++) pass(m, dirfd, names, n); /* warm-up */
  for (int r = 0; r < rounds; r++)
    for (int m = 0; m < MODES; m++) t[m][r] = pass(m, dirfd, names, n);

  for (int m = 0; m < MODES; m++) {
    qsort(t[m], rounds, sizeof(double), by_value);
    printf("%s%s=%.0f", m ? " " : "", mode_name[m], quantile(t[m], rounds, 0.5));
  }
  for (int m = 0; m < MODES; m++)
    printf(" %s_p25=%.0f %s_p75=%.0f", mode_name[m], quantile(t[m], rounds, 0.25), mode_name[m],
           quantile(t[m], rounds, 0.75));
  printf(" files=%d rounds=%d\n", n, rounds);
  return 0;
}
