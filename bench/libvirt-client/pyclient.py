"""
The C library's side of bench/libvirt-client/run.ts: a persistent Python process (Debian's python3-libvirt,
run with /usr/bin/python3) that takes one JSON command per stdin line and answers one JSON line with
per-call wall time (time.perf_counter_ns) and CPU time (time.process_time_ns) in nanoseconds.

Commands:
  {"op": "open", "uri": "qemu:///system"}
  {"op": "stats", "n": 10, "stats": 0, "flags": 0}      virConnectGetAllDomainStats, n times (+ "params":
      typed params per reply, counted after each timed call)
      (+ "domains": [names]: virDomainListGetStats of those domains, looked up once)
  {"op": "list", "n": 10, "flags": 0}                   virConnectListAllDomains, n times
  {"op": "virsh", "n": 2, "argv": ["virsh", ...]}       runs a process n times; CPU from its rusage (wait4)
  {"op": "quit"}
"""
import json
import os
import subprocess
import sys
import time

import libvirt

conn = None


def timed(fn, n, count_params=False):
    wall, cpu, count, params = [], [], 0, []
    for _ in range(n):
        c0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        r = fn()
        wall.append(time.perf_counter_ns() - t0)
        cpu.append(time.process_time_ns() - c0)
        count = len(r)
        # Outside the timed part: typed params in the reply (NOWAIT may leave groups out of a busy domain).
        if count_params:
            params.append(sum(len(p) for _d, p in r))
    return {"wall": wall, "cpu": cpu, "count": count, "params": params}


def run_process(argv, n):
    wall, cpu = [], []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        wall.append(time.perf_counter_ns() - t0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read()
        p.stderr.close()
        if p.returncode != 0:
            raise RuntimeError(f"{argv} exited {p.returncode}: {err.decode(errors='replace')}")
        cpu.append(round((ru.ru_utime + ru.ru_stime) * 1e9))
    return {"wall": wall, "cpu": cpu, "count": 0}


def main():
    global conn
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors go to exceptions only
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        try:
            if op == "open":
                conn = libvirt.open(cmd["uri"])
                out = {"version": libvirt.getVersion(), "python": sys.version.split()[0]}
            elif op == "stats":
                s, f = cmd["stats"], cmd["flags"]
                if cmd.get("domains"):
                    doms = [conn.lookupByName(n) for n in cmd["domains"]]
                    out = timed(lambda: conn.domainListGetStats(doms, s, f), cmd["n"], True)
                else:
                    out = timed(lambda: conn.getAllDomainStats(s, f), cmd["n"], True)
            elif op == "list":
                f = cmd["flags"]
                out = timed(lambda: conn.listAllDomains(f), cmd["n"])
            elif op == "virsh":
                out = run_process(cmd["argv"], cmd["n"])
            elif op == "quit":
                if conn is not None:
                    conn.close()
                print(json.dumps({"bye": True}), flush=True)
                return
            else:
                raise ValueError(f"unknown op {op}")
        except Exception as e:  # reported to run.ts, which fails the run
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


main()
