#!/usr/bin/env bash
# The benchmark: builds release, generates the captures into bench/data/ if
# missing, times rstscope against cat, tcpdump, tcptrace and tshark on each
# (page cache warm, several runs, median and peak RSS), and writes the table
# with the targets of issues 5 and 11 to bench/RESULTS.md. See bench/README.md.
#
#   bash bench/run.sh                 # full-1g, headers-10m, random-1g, concurrent-2m
#   bash bench/run.sh --quick         # small files (~50 MB), to test the script
#   bash bench/run.sh --long          # also random-2g (2x random-1g: memory flatness)
#   bash bench/run.sh --only full-1g,headers-10m --runs 5
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
DATA=$ROOT/bench/data

RUNS=3
QUICK=0
LONG=0
ONLY=""
OUT=""
# Peers (tshark, tcptrace) keep every connection in memory and can run for
# minutes on the large files: each run is bounded in time and address space.
PEER_TIMEOUT=300
PEER_MEM_GB=8
TSHARK_RUNS=1
PEERS=1

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --runs N             timed runs per command (default 3; tshark: 1, see --tshark-runs)
  --quick              small files (quick-*), results to bench/data/RESULTS-quick.md
  --long               add random-2g (2 x random-1g) for the memory-flatness target
  --no-peers           skip tcptrace and tshark (they are not targets; minutes on big files)
  --only A,B           only the files whose names contain A or B
  --out FILE           where to write the table (default bench/RESULTS.md)
  --peer-timeout S     time limit per tshark/tcptrace run (default 300)
  --peer-mem-gb G      address-space limit per tshark/tcptrace run (default 8)
  --tshark-runs N      timed runs of tshark (default 1: it takes minutes)
EOF
}

while (($#)); do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --long) LONG=1; shift ;;
    --no-peers) PEERS=0; shift ;;
    --only) ONLY=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --peer-timeout) PEER_TIMEOUT=$2; shift 2 ;;
    --peer-mem-gb) PEER_MEM_GB=$2; shift 2 ;;
    --tshark-runs) TSHARK_RUNS=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
if [[ -z $OUT ]]; then
    if ((QUICK)); then OUT=$DATA/RESULTS-quick.md; else OUT=$ROOT/bench/RESULTS.md; fi
fi
TSHARK_RUNS=$((TSHARK_RUNS < RUNS ? TSHARK_RUNS : RUNS))

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- tools
need=()
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tshark >/dev/null || need+=(tshark)
command -v tcptrace >/dev/null || need+=(tcptrace)
[[ -x /usr/bin/time ]] || need+=(time)
command -v timeout >/dev/null || need+=(coreutils)
if ((${#need[@]})); then
    log "installing ${need[*]}"
    SUDO=""
    ((EUID == 0)) || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y "${need[@]}" >&2 ||
        { $SUDO apt-get update >&2 && $SUDO apt-get install -y "${need[@]}" >&2; }
fi

# ---------------------------------------------------------------- build
log "cargo build --release"
cargo build --release --bin rstscope --example gencap --example decode --example census >&2
# RSTSCOPE=PATH times another build (the same command lines), e.g. the one
# before a change, for a before/after table.
RSTSCOPE=${RSTSCOPE:-${CARGO_TARGET_DIR:-$ROOT/target}/release/rstscope}
DECODE=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/decode
GENCAP=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/gencap
CENSUS=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/census

# ---------------------------------------------------------------- files
# name | gencap arguments | what it is
if ((QUICK)); then
    FILES=(
        "quick-full-50m.pcap|--seed 1 --size 50M|full payload, 50 MiB"
        "quick-headers-500k.pcap|--seed 2 --packets 500K --snaplen 96|headers only (snaplen 96), 500 000 packets"
        "quick-random-50m.pcap|--seed 4 --size 50M --interleave random --servers 1400 --sack|full payload, 50 MiB, packets interleaved at random, 1 400 servers, SACK"
        "quick-concurrent-100k.pcap|--seed 3 --connections 100K --concurrent 10K --snaplen 96 --exchanges 1 --max-response 64K --interleave random --servers 1400 --sack|100 000 connections, 10 000 open at once, headers only, interleaved at random"
    )
    ((LONG)) && FILES+=("quick-random-100m.pcap|--seed 4 --size 100M --interleave random --servers 1400 --sack|2 x quick-random-50m (same seed: it starts with the same traffic)")
else
    FILES=(
        "full-1g.pcap|--seed 1 --size 1G|full payload, 1 GiB"
        "headers-10m.pcap|--seed 2 --packets 10M --snaplen 96|headers only (snaplen 96), 10 million packets"
        "random-1g.pcap|--seed 4 --size 1G --interleave random --servers 1400 --sack|full payload, 1 GiB, each packet from a random connection that is due, 1 400 servers, SACK on client ACKs"
        "concurrent-2m.pcap|--seed 3 --connections 2M --concurrent 100K --snaplen 96 --exchanges 1 --max-response 64K --interleave random --servers 1400 --sack|2 million connections, 100 000 open at once, headers only, interleaved at random, 1 400 servers"
    )
    ((LONG)) && FILES+=("random-2g.pcap|--seed 4 --size 2G --interleave random --servers 1400 --sack|2 x random-1g (same seed: it starts with the same traffic)")
fi
if [[ -n $ONLY ]]; then
    kept=()
    IFS=, read -ra pats <<<"$ONLY"
    for spec in "${FILES[@]}"; do
        for p in "${pats[@]}"; do
            if [[ ${spec%%|*} == *"$p"* ]]; then kept+=("$spec"); break; fi
        done
    done
    FILES=("${kept[@]}")
fi
((${#FILES[@]})) || { echo "run.sh: no file selected" >&2; exit 2; }

mkdir -p "$DATA"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# A file is regenerated when missing or when its recorded arguments (or the
# generator's source) changed.
gen_id() { printf '%s %s' "$1" "$(cat "$ROOT/bench/synth.rs" "$ROOT/bench/gencap.rs" | cksum | cut -d' ' -f1)"; }
for spec in "${FILES[@]}"; do
    IFS='|' read -r name args _ <<<"$spec"
    f=$DATA/$name
    id=$(gen_id "$args")
    if [[ -f $f && -f $f.summary && -f $f.id && $(cat "$f.id") == "$id" ]]; then
        continue
    fi
    avail_kb=$(df -Pk "$DATA" | awk 'NR==2 {print $4}')
    if ((avail_kb < 6 * 1024 * 1024)); then
        echo "run.sh: only $((avail_kb / 1024)) MB free under $DATA; need ~6 GB to generate $name" >&2
        exit 1
    fi
    log "generating $name ($args)"
    # shellcheck disable=SC2086 # args is a list of options
    "$GENCAP" --out "$f.tmp" --summary "$f.summary" $args 2>"$TMP/gen.log" ||
        { cat "$TMP/gen.log" >&2; exit 1; }
    mv "$f.tmp" "$f"
    echo "$id" >"$f.id"
done

summary_value() { sed -n "s/^$2=//p" "$DATA/$1.summary"; }

# ---------------------------------------------------------------- timing
# Results, one line per (file, command), fields separated by US (0x1f) so
# that empty fields survive `read`:
# file, label, status, runs, median_s, min_s, peak_rss_kb, note
US=$'\x1f'
RESULTS=$TMP/results
: >"$RESULTS"

# Times are kept per (file, command) until `flush_pending` writes their
# result lines, in the order the commands first ran.
declare -A ACC_TIMES=() ACC_RSS=() ACC_STATUS=() ACC_NOTE=()
PENDING=()

# run_one FILE LABEL LIMITED NOTE CMD...: one timed run of CMD, kept for
# `flush`; nothing once an earlier run of it failed or timed out.
# LIMITED=1 bounds the run by PEER_TIMEOUT and PEER_MEM_GB.
run_one() {
    local file=$1 label=$2 limited=$3 note=$4
    shift 4
    local k="$file$US$label" rc t0 t1 line m
    if [[ -z ${ACC_NOTE[$k]+set} ]]; then
        ACC_NOTE[$k]=$note
        PENDING+=("$k")
    fi
    [[ ${ACC_STATUS[$k]:-ok} == ok ]] || return 0
    t0=$(date +%s%N)
    set +e
    if ((limited)); then
        (
            ulimit -v $((PEER_MEM_GB * 1024 * 1024))
            exec /usr/bin/time -f '%e %M' -o "$TMP/time" timeout "$PEER_TIMEOUT" "$@"
        ) >/dev/null 2>"$TMP/stderr"
    else
        /usr/bin/time -f '%e %M' -o "$TMP/time" "$@" >/dev/null 2>"$TMP/stderr"
    fi
    rc=$?
    set -e
    t1=$(date +%s%N)
    m=$(tail -1 "$TMP/time" 2>/dev/null | awk 'NF == 2 {print $2}')
    ((${m:-0} > ${ACC_RSS[$k]:-0})) && ACC_RSS[$k]=$m
    note=${ACC_NOTE[$k]}
    if ((rc == 124)); then
        ACC_STATUS[$k]="timeout"
        ACC_NOTE[$k]="${note:+$note; }killed after ${PEER_TIMEOUT} s"
    elif ((rc == 2)) && grep -qi "not implemented" "$TMP/stderr"; then
        ACC_STATUS[$k]="not implemented"
    elif ((rc != 0)); then
        ACC_STATUS[$k]="exit $rc"
        line=$(grep -v -e '^Running as user' -e '^reading from file' -e '^ *$' "$TMP/stderr" | sed 's/^[ *]*//' | head -1 | cut -c1-100)
        ((limited)) && line="${line:+$line; }memory cap ${PEER_MEM_GB} GB"
        ACC_NOTE[$k]="${note:+$note; }${line//|/\\|}"
    else
        ACC_TIMES[$k]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}') "
    fi
}

# flush KEY: the result line of the runs kept for KEY (FILE US LABEL).
flush() {
    local k=$1 times=() median="" min="" rss
    local file=${k%%"$US"*} label=${k#*"$US"}
    read -ra times <<<"${ACC_TIMES[$k]:-}"
    if ((${#times[@]})); then
        median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}')
        min=$(printf '%s\n' "${times[@]}" | sort -g | head -1)
    fi
    rss=${ACC_RSS[$k]:-0}
    printf "%s$US%s$US%s$US%s$US%s$US%s$US%s$US%s\n" "$file" "$label" "${ACC_STATUS[$k]:-ok}" "${#times[@]}" "$median" "$min" "$rss" "${ACC_NOTE[$k]:-}" >>"$RESULTS"
    log "  $label: ${median:-—} s (min ${min:-—}), peak RSS $((rss / 1024)) MB, ${ACC_STATUS[$k]:-ok}"
}

# flush_pending: the result lines of every command run since the last.
flush_pending() {
    local k
    for k in "${PENDING[@]}"; do
        flush "$k"
    done
    PENDING=()
}

# measure FILE LABEL RUNS LIMITED NOTE CMD...: RUNS runs one after another.
measure() {
    local file=$1 label=$2 runs=$3 limited=$4 note=$5 i
    shift 5
    for ((i = 1; i <= runs; i++)); do
        run_one "$file" "$label" "$limited" "$note" "$@"
    done
    flush_pending
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for spec in "${FILES[@]}"; do
    IFS='|' read -r name _ _ <<<"$spec"
    f=$DATA/$name
    size=$(stat -c %s "$f")
    big=$((size > 300 * 1024 * 1024))
    log "$name: warming the page cache"
    cat "$f" >/dev/null
    # In rounds, each command once a round: a slow spell of the shared
    # machine then falls on tcpdump and rstscope alike.
    for ((round = 1; round <= RUNS; round++)); do
        run_one "$name" 'cat F > /dev/null' 0 "" cat "$f"
        run_one "$name" 'tcpdump -r F -w /dev/null' 0 "" tcpdump -r "$f" -w /dev/null
        run_one "$name" 'read+decode only (examples/decode)' 0 "" "$DECODE" "$f"
        run_one "$name" 'rstscope report F' 0 "" "$RSTSCOPE" report "$f"
        run_one "$name" 'rstscope flows --format csv F' 0 "" "$RSTSCOPE" flows --format csv "$f"
    done
    flush_pending
    # Connections open at once, for the bytes each one costs.
    "$RSTSCOPE" report --format json "$f" | tr ',{' '\n\n' | sed -n 's/^ *"peak_open_connections": *\([0-9]*\).*/\1/p' | head -1 >"$TMP/open.$name"
    # What the tracker held at its peak, by part (not timed).
    "$CENSUS" "$f" | sed -n '1s/.*census at segment [0-9]*: //p' >"$TMP/census.$name"
    ((PEERS)) || continue
    measure "$name" 'tcptrace -n F' "$RUNS" 1 "" tcptrace -n "$f"
    if ((big)); then
        measure "$name" 'tshark -r F -q -z conv,tcp' "$TSHARK_RUNS" 1 "$TSHARK_RUNS run(s), limit ${PEER_TIMEOUT} s" tshark -r "$f" -q -z conv,tcp
    else
        measure "$name" 'tshark -r F -q -z conv,tcp' "$RUNS" 1 "" tshark -r "$f" -q -z conv,tcp
    fi
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
# get FILE LABEL FIELD (3 status, 4 runs, 5 median, 6 min, 7 rss_kb, 8 note)
get() { awk -F"$US" -v f="$1" -v l="$2" -v c="$3" '$1 == f && $2 == l {print $c}' "$RESULTS"; }

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain -- src Cargo.toml 2>/dev/null) ]]; then
    commit="$commit + uncommitted changes in src/ or Cargo.toml"
fi
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem_gb=$(awk '/MemTotal/ {printf "%.1f", $2 / 1024 / 1024}' /proc/meminfo)

{
    echo "# Benchmark results"
    echo
    echo "Written by \`bash bench/run.sh$( ((QUICK)) && echo ' --quick')$( ((LONG)) && echo ' --long')\` (see [README](README.md)); do not edit by hand."
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- rstscope commit: $commit"
    echo "- machine: $(nproc) cores, $cpu, $mem_gb GB RAM, Linux $(uname -r)"
    echo "- load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END (the cores are shared: other builds add noise)"
    echo "- tools: $(rustc -V 2>/dev/null | cut -d' ' -f1-2); $(tcpdump --version 2>&1 | head -1); $(tshark --version 2>/dev/null | head -1 | cut -d' ' -f1-3); tcptrace $(tcptrace -v 2>&1 | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -1)"
    echo "- peers: $( ((PEERS)) && echo "tcptrace and tshark measured" || echo "tcptrace and tshark not run (\`--no-peers\`)")"
    echo "- method: page cache warm (one \`cat F\` first); $RUNS rounds in which cat, tcpdump, decode, report and flows run once each in turn (so a slow spell of the shared machine falls on all of them alike), median and minimum wall time; peak RSS is the largest \`/usr/bin/time %M\` of the runs; output to /dev/null. tshark and tcptrace run with a ${PEER_TIMEOUT} s time limit and a ${PEER_MEM_GB} GB address-space limit; on files over 300 MB tshark runs $TSHARK_RUNS time(s)."
    echo "- time ÷ report: the command's median over \`rstscope report\`'s median (below 1: faster than rstscope)."
    echo
    for spec in "${FILES[@]}"; do
        IFS='|' read -r name args what <<<"$spec"
        packets=$(summary_value "$name" packets)
        conns=$(summary_value "$name" connections)
        size=$(stat -c %s "$DATA/$name")
        echo "## $name"
        echo
        echo "$what: $(awk -v s="$size" 'BEGIN {printf "%.2f GB (%.0f bytes)", s / 1e9, s}'), $packets packets, $conns connections (max $(summary_value "$name" max_in_flight) in flight), $(summary_value "$name" duration_s) s of traffic, average $(summary_value "$name" avg_wire_bytes) bytes per packet on the wire, $(summary_value "$name" same_connection_as_previous) TCP segments from the same connection as the one before. \`gencap $args\`"
        echo
        open=$(cat "$TMP/open.$name" 2>/dev/null)
        rss_r=$(get "$name" 'rstscope report F' 7)
        rss_d=$(get "$name" 'read+decode only (examples/decode)' 7)
        if [[ -n $open && -n $rss_r && -n $rss_d && $open -gt 0 ]]; then
            echo "Memory per open connection: peak RSS of \`report\` $(awk -v k="$rss_r" 'BEGIN {printf "%.1f", k / 1024}') MB, of reading and decoding alone $(awk -v k="$rss_d" 'BEGIN {printf "%.1f", k / 1024}') MB, $open connections open at the peak (tracked: in flight, waiting out their grace or their attempt timeout): $(awk -v r="$rss_r" -v d="$rss_d" -v o="$open" 'BEGIN {printf "%.0f", (r - d) * 1024 / o}') bytes per open connection, everything included."
            echo
        fi
        if [[ -s $TMP/census.$name ]]; then
            echo "Near that peak (\`examples/census\`: the tracker alone, counted every 65 536 segments): $(cat "$TMP/census.$name")."
            echo
        fi
        echo -n "Outcomes:"
        sed -n 's/^outcome\.\(.*\)=\(.*\)/ \1 \2,/p' "$DATA/$name.summary" | tr -d '\n' | sed 's/,$//'
        echo "."
        echo
        echo "| command | runs | median s | min s | peak RSS MB | packets/s | time ÷ report | note |"
        echo "|---|---:|---:|---:|---:|---:|---:|---|"
        ref=$(get "$name" 'rstscope report F' 5)
        while IFS=$US read -r _ label status runs median min rss note; do
            if [[ $status != ok ]]; then
                echo "| \`$label\` | $runs | — | — | $( ((rss)) && echo $((rss / 1024)) || echo —) | — | — | $status${note:+; $note} |"
                continue
            fi
            pps=$(awk -v p="$packets" -v t="$median" 'BEGIN {if (t > 0) printf "%.2f M", p / t / 1e6; else print "—"}')
            ratio=$(awk -v t="$median" -v r="$ref" 'BEGIN {if (r > 0) printf "%.2f", t / r; else print "—"}')
            echo "| \`$label\` | $runs | $median | $min | $(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}') | $pps | $ratio | $note |"
        done < <(awk -F"$US" -v f="$name" '$1 == f' "$RESULTS")
        echo
    done

    echo "## Targets (issues 5 and 11)"
    echo
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    if ((QUICK)); then
        fullname=quick-full-50m.pcap hdrname=quick-headers-500k.pcap
        small=quick-random-50m.pcap large=quick-random-100m.pcap
    else
        fullname=full-1g.pcap hdrname=headers-10m.pcap
        small=random-1g.pcap large=random-2g.pcap
    fi

    # 0. issue 2: reading and decoding alone no slower than tcpdump
    d=$(get "$fullname" 'read+decode only (examples/decode)' 5)
    t=$(get "$fullname" 'tcpdump -r F -w /dev/null' 5)
    if [[ -n $d && -n $t ]]; then
        v=$(awk -v d="$d" -v t="$t" 'BEGIN {print (d <= t) ? "met" : "not met"}')
        echo "| $fullname: reading + decoding ≤ \`tcpdump -r F -w /dev/null\` (issue 2) | decode $d s, tcpdump $t s | **$v** |"
    fi

    # 1. full report no slower than tcpdump
    r=$(get "$fullname" 'rstscope report F' 5)
    t=$(get "$fullname" 'tcpdump -r F -w /dev/null' 5)
    if [[ -n $r && -n $t ]]; then
        v=$(awk -v r="$r" -v t="$t" 'BEGIN {print (r <= t) ? "met" : "not met"}')
        echo "| $fullname: \`report\` time ≤ \`tcpdump -r F -w /dev/null\` | report $r s, tcpdump $t s ($(awk -v r="$r" -v t="$t" 'BEGIN {printf "%.2f", r / t}') x) | **$v** |"
    else
        echo "| $fullname: \`report\` time ≤ \`tcpdump -r F -w /dev/null\` | not measured | **not measured** |"
    fi

    # 1b. issue 11: the report no slower than tcpdump on every file
    for spec in "${FILES[@]}"; do
        IFS='|' read -r name _ _ <<<"$spec"
        [[ $name == "$fullname" ]] && continue
        r=$(get "$name" 'rstscope report F' 5)
        t=$(get "$name" 'tcpdump -r F -w /dev/null' 5)
        [[ -n $r && -n $t ]] || continue
        v=$(awk -v r="$r" -v t="$t" 'BEGIN {print (r <= t) ? "met" : "not met"}')
        echo "| $name: \`report\` time ≤ \`tcpdump -r F -w /dev/null\` | report $r s, tcpdump $t s ($(awk -v r="$r" -v t="$t" 'BEGIN {printf "%.2f", r / t}') x) | **$v** |"
    done

    # 2. headers-only flows: >= 10 M packets/s and no slower than tcpdump
    fs=$(get "$hdrname" 'rstscope flows --format csv F' 3)
    f=$(get "$hdrname" 'rstscope flows --format csv F' 5)
    t=$(get "$hdrname" 'tcpdump -r F -w /dev/null' 5)
    p=$(summary_value "$hdrname" packets 2>/dev/null || true)
    if [[ $fs == ok && -n $f && -n $t ]]; then
        pps=$(awk -v p="$p" -v f="$f" 'BEGIN {printf "%.2f", p / f / 1e6}')
        v=$(awk -v pps="$pps" -v f="$f" -v t="$t" 'BEGIN {print (pps >= 10 && f <= t) ? "met" : "not met"}')
        echo "| $hdrname: \`flows --format csv\` ≥ 10 M packets/s and ≤ tcpdump | $pps M packets/s; flows $f s, tcpdump $t s | **$v** |"
    else
        r=$(get "$hdrname" 'rstscope report F' 5)
        extra=""
        [[ -n $r && -n $p ]] && extra=" (\`report\`, which only reads and decodes today: $(awk -v p="$p" -v r="$r" 'BEGIN {printf "%.2f", p / r / 1e6}') M packets/s, $r s vs tcpdump $t s)"
        echo "| $hdrname: \`flows --format csv\` ≥ 10 M packets/s and ≤ tcpdump | flows: ${fs:-not run}$extra | **not measured** |"
    fi

    # 3. peak RSS <= 64 MB on every file, flat when the file grows
    worst=0
    worst_where=""
    for spec in "${FILES[@]}"; do
        IFS='|' read -r name _ _ <<<"$spec"
        for label in 'rstscope report F' 'rstscope flows --format csv F'; do
            [[ $(get "$name" "$label" 3) == ok ]] || continue
            k=$(get "$name" "$label" 7)
            if ((k > worst)); then worst=$k; worst_where="$name, \`${label% F}\`"; fi
        done
    done
    if ((worst)); then
        v=$(awk -v k="$worst" 'BEGIN {print (k <= 64 * 1024) ? "met" : "not met"}')
        echo "| peak RSS ≤ 64 MB on every file (issue 5; rstscope commands that ran) | largest $(awk -v k="$worst" 'BEGIN {printf "%.1f", k / 1024}') MB ($worst_where) | **$v** |"
    else
        echo "| peak RSS ≤ 64 MB on every file | nothing measured | **not measured** |"
    fi
    # issue 11: 64 MB with at most 10 000 in flight, 128 MB with 100 000
    for spec in "${FILES[@]}"; do
        IFS='|' read -r name _ _ <<<"$spec"
        inflight=$(summary_value "$name" max_in_flight)
        limit=64
        ((inflight > 10000)) && limit=128
        k=0
        for label in 'rstscope report F' 'rstscope flows --format csv F'; do
            [[ $(get "$name" "$label" 3) == ok ]] || continue
            m=$(get "$name" "$label" 7)
            ((m > k)) && k=$m
        done
        ((k)) || continue
        v=$(awk -v k="$k" -v l="$limit" 'BEGIN {print (k <= l * 1024) ? "met" : "not met"}')
        echo "| $name ($inflight in flight): peak RSS ≤ $limit MB (issue 11) | $(awk -v k="$k" 'BEGIN {printf "%.1f", k / 1024}') MB | **$v** |"
    done
    a=$(get "$small" 'rstscope report F' 7)
    b=$(get "$large" 'rstscope report F' 7)
    if [[ -n $a && -n $b && $a -gt 0 && $b -gt 0 ]]; then
        v=$(awk -v a="$a" -v b="$b" 'BEGIN {print (b <= a * 1.05 + 1024) ? "met" : "not met"}')
        echo "| longer file does not raise peak RSS (\`report\`) | $small $(awk -v k="$a" 'BEGIN {printf "%.1f", k / 1024}') MB, $large (2x) $(awk -v k="$b" 'BEGIN {printf "%.1f", k / 1024}') MB | **$v** (5 % + 1 MB tolerance) |"
    else
        echo "| longer file does not raise peak RSS | needs \`--long\` | **not measured** |"
    fi

    # 4. no timed assertions in tests
    timed=$(grep -rlE 'Instant::now|\.elapsed\(\)' "$ROOT/tests" 2>/dev/null | sed "s|$ROOT/||" | tr '\n' ' ' || true)
    if [[ -z $timed ]]; then
        echo "| no timed assertions in tests | no \`Instant::now\` / \`.elapsed()\` in tests/ | **met** |"
    else
        echo "| no timed assertions in tests | \`Instant::now\` / \`.elapsed()\` in: $timed | **check by hand** |"
    fi
    echo
} >"$OUT"

log "wrote $OUT"
