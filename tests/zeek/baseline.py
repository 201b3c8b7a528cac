#!/usr/bin/env python3
"""Derives tests/zeek_baseline.tsv from a Zeek git repository: the TCP
records of Zeek's expected conn.log files (testing/btest/Baseline/*/conn.log)
whose btest reads one trace without scripting that changes conn.log.

    tests/zeek/baseline.py [ZEEK_GIT_DIR] > tests/zeek_baseline.tsv

Zeek's btest canonifier masks ts and uid, so the key is the 5-tuple (as
Zeek oriented it) plus the record's rank among the trace's records on the
same tuple; orig_pkts and resp_pkts tell whether both tools saw the same
packets as one connection.
"""
import re
import subprocess
import sys

REPO = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/zeek+zeek/repo"

# Baselines left out, and why (each changes what conn.log holds or reads
# something other than one trace).
EXCLUDED = {
    "core.pcap.dynamic-filter": "installs packet filters while reading",
    "core.pcap.read-trace-with-filter": "reads through a BPF filter (-f)",
    "scripts.base.frameworks.analyzer.request-analyzer": "reads through a BPF filter (-f)",
    "core.print-bpf-filters": "reads several traces",
    "spicy.replaces": "reads two traces into one conn.log",
    "plugins.pktsrc": "a packet-source plugin, no trace",
    "core.skip_analyzer": "skips 38 bytes of every packet (SKIP analyzer)",
    "scripts.base.frameworks.netcontrol.packetfilter": "NetControl drops packets",
    "core.tcp.large-file-reassembly": "tcp_excessive_data_without_further_acks=0 gives up reassembly",
    "scripts.base.protocols.ftp.gridftp": "size_threshold=2 detects a GridFTP data channel and skips its further packets",
    "core.tcp.reassembly-known-ports": "dpd_reassemble_first_packets=F (same trace kept from field-extension-invalid)",
}
# report_gaps_for_partial=T changes missed_bytes (content_gap events), not
# history: missed_bytes is not compared there.
NO_MISSED = {"core.tcp.miss-end-data"}

NEEDED = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
          "conn_state", "history", "missed_bytes", "orig_pkts", "resp_pkts"]


def git(*args):
    return subprocess.run(["git", "-C", REPO, *args], capture_output=True,
                          text=True, check=False).stdout


def btest_of(name, files):
    for nm in (name, re.sub(r"-\d+$", "", name)):
        prefix = "testing/btest/" + "/".join(nm.split("."))
        for f in files:
            if f.startswith(prefix + ".") and f.count("/") == prefix.count("/"):
                return f
    return None


def main():
    files = git("ls-tree", "-r", "--name-only", "HEAD", "testing/btest").splitlines()
    bases = sorted(f for f in files
                   if f.startswith("testing/btest/Baseline/") and f.endswith("/conn.log"))
    kept = {}  # trace -> (name, rows)
    notes = []
    for b in bases:
        name = b.split("/")[3]
        log = git("show", "HEAD:" + b).splitlines()
        fields = next((l.split("\t")[1:] for l in log if l.startswith("#fields")), [])
        rows = [l.split("\t") for l in log if l and not l.startswith("#")]
        if not all(f in fields for f in NEEDED):
            if any(len(r) > 6 and "tcp" in r for r in rows):
                notes.append(f"# skipped {name}: renamed or missing conn.log fields")
            continue
        ix = {f: fields.index(f) for f in NEEDED}
        tcp = [r for r in rows if r[ix["proto"]] == "tcp"]
        if not tcp:
            continue
        if name in EXCLUDED:
            notes.append(f"# excluded {name}: {EXCLUDED[name]}")
            continue
        src = git("show", "HEAD:" + (btest_of(name, files) or "none"))
        execs = " ".join(l for l in src.splitlines()
                         if "@TEST-EXEC" in l and re.search(r"\bzeek\b", l))
        traces = sorted(set(re.findall(r"\$\{?TRACES\}?/([^\s\"']+)", execs)))
        if len(traces) != 1:
            notes.append(f"# excluded {name}: reads {len(traces)} traces")
            continue
        trace = traces[0]
        recs = [tuple(r[ix[f]] for f in NEEDED if f != "proto") for r in tcp]
        if name in NO_MISSED:
            recs = [r[:6] + ("-",) + r[7:] for r in recs]
        if trace in kept:
            same = sorted(kept[trace][1]) == sorted(recs)
            notes.append(f"# duplicate {name}: {trace} kept from {kept[trace][0]}"
                         + ("" if same else " (records differ)"))
            continue
        kept[trace] = (name, recs)
    print("# Zeek's expected conn.log TCP records, from tests/zeek/baseline.py")
    print(f"# zeek {git('rev-parse', 'HEAD').strip()}")
    for n in notes:
        print(n)
    print("\t".join(["trace", "btest"] + [f for f in NEEDED if f != "proto"]))
    for trace, (name, recs) in sorted(kept.items()):
        for r in recs:
            print("\t".join((trace, name) + r))


main()
