#!/usr/bin/env bash
# Re-creates the shipped traces from real programs run under valgrind's lackey (Debian 12,
# valgrind 3.19). Exact commands; addresses depend on the machine, so re-made traces differ in
# detail from the shipped ones but not in kind.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
L="valgrind --tool=lackey --trace-mem=yes"

# 1. ls: one process -> one vCPU.
$L --log-file="$tmp/ls.%p.log" /bin/ls / >/dev/null
../scripts/lackey2trace.py --merge-same-page "$tmp"/ls.*.log -o ls.trace.gz

# 2. a shell pipeline: sh, seq, sort and head are four processes -> four vCPUs.
$L --trace-children=yes --log-file="$tmp/pipe.%p.log" /bin/sh -c 'seq 1 200 | sort -rn | head -3' >/dev/null
../scripts/lackey2trace.py --merge-same-page $(ls "$tmp"/pipe.*.log | sort -t. -k2 -n) -o pipeline.trace.gz

# 3. gzip compressing a text file: one process.
$L --log-file="$tmp/gzip.%p.log" /bin/gzip -c /etc/services >/dev/null
../scripts/lackey2trace.py --merge-same-page "$tmp"/gzip.*.log -o gzip.trace.gz
