#!/usr/bin/env bash
# What sandboxes cost while they run, next to bubblewrap (and firejail when it works), in one
# run: the memory of the supervising processes of one sandbox (everything but the app: the
# launcher on the host, its pid 1 inside), and the time to start N sandboxes at once and their
# supervisors' memory together. The app is `sleep`; memory is PSS (shared pages divided among
# their users), from /proc/PID/smaps_rollup.
#
#   bench/concurrent.sh                  # as root (runs as sandbox-bench) or as a user
#   SANDBOX=/path/to/bin/sandbox N=100 bench/concurrent.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${N:-100}
need_tools bwrap:bubblewrap python3:python3
stage_sandbox
bwrap_base

have_fj=0
firejail_works && have_fj=1

# One measurement in python: start N copies of a command that ends in `sleep TAG`, wait until
# every sleep runs, then sum the PSS of the bench user's processes that are not the sleeps.
# As root, python stays root (to read the PSS of setuid firejail's processes) and starts the
# commands as the bench user.
measure() {  # measure NAME N CMD...
  env -C "$bench_home" BENCH_USER="$bench_user" HOME="$bench_home" python3 - "$@" <<'EOF'
import os, pwd, subprocess, sys, time
name, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
user = pwd.getpwnam(os.environ["BENCH_USER"])
def as_user():
    if os.getuid() == 0:
        os.initgroups(user.pw_name, user.pw_gid)
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
env = {"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name,
       "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
def pss(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
def ours():
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        out.append((int(p), argv))
    return out
sleep_arg = str(1000000 + os.getpid())  # a duration no other process of ours sleeps
t0 = time.monotonic()
procs = [subprocess.Popen(cmd + ["sleep", sleep_arg], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, preexec_fn=as_user, env=env, cwd=user.pw_dir)
         for _ in range(n)]
launchers = {p.pid for p in procs}
while True:
    running = [pid for pid, argv in ours() if argv[:2] == [b"sleep", sleep_arg.encode()]]
    if len(running) >= n:
        break
    if any(p.poll() is not None for p in procs):
        print(f"{name}: a launcher exited early", file=sys.stderr)
        sys.exit(1)
    if time.monotonic() - t0 > 120:
        print(f"{name}: only {len(running)} of {n} started", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.005)
elapsed = time.monotonic() - t0
# Supervisors: the launchers and their descendants, except the sleeps.
children = {}
for pid, argv in ours():
    try:
        ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        continue
    children.setdefault(ppid, []).append((pid, argv))
total, stack = 0, list(launchers)
while stack:
    pid = stack.pop()
    total += pss(pid)
    for child, argv in children.get(pid, []):
        if argv[:1] != [b"sleep"]:
            stack.append(child)
for p in procs:
    p.kill()
for p in procs:
    p.wait()
print(f"{name}\t{elapsed:.3f}\t{total}")
EOF
}

rows=()
for n in 1 "$N"; do
  rows+=("$(measure sandbox "$n" "$SANDBOX" run --home tmpfs --)")
  rows+=("$(measure bwrap "$n" "${bw[@]}")")
  ((have_fj)) && rows+=("$(measure firejail "$n" firejail --quiet --noprofile --private --net=none)")
  sleep 1
done

python3 - "$N" "${rows[@]}" <<'EOF'
import sys
n = int(sys.argv[1])
rows = [r.split("\t") for r in sys.argv[2:]]
one = {r[0]: int(r[2]) for r in rows[: len(rows) // 2]}
many = {r[0]: (float(r[1]), int(r[2])) for r in rows[len(rows) // 2 :]}
print("| | supervisor memory, 1 sandbox (PSS) | start %d at once (s) | supervisors of %d (PSS) |" % (n, n))
print("|---|---:|---:|---:|")
for name in one:
    print(f"| {name} | {one[name] / 1024:.2f} MiB | {many[name][0]:.2f} | {many[name][1] / 1024:.1f} MiB |")
b = "bwrap"
print()
print(f"sandbox / bwrap: memory of one {one['sandbox'] / one[b]:.2f}, start {n} {many['sandbox'][0] / many[b][0]:.2f}, "
      f"memory of {n} {many['sandbox'][1] / many[b][1]:.2f}")
EOF
