#!/usr/bin/env bash
# Runs AxTract's benchmarks. BENCH_PHASES picks them (default "feeds go"):
#
# feeds: feed delivery against a bare COPY on generated data, in one run so
# the ratios compare like with like on a noisy machine:
#   floor:  COPY (SELECT * FROM the view) TO STDOUT as the partner role, into a
#           discarding sink (BenchmarkBareCopy in internal/extract)
#   feeds:  axtract feed run (CSV, zstd or gzip, OpenPGP, local destination)
#   by hand: psql COPY piped to gzip and gpg, as a DBA would script it
# and the peak RSS of the feed process at 10% and 100% of the rows.
#
# go: the Go benchmarks of the formats, the privacy engine, SFTP, the pull
# API and GraphQL, each on BENCH_GO_LINES claim lines (default 500000) that
# it generates in a test database of its own. Each prints its ratios.
#
# Needs a PostgreSQL server on 127.0.0.1 (or BENCH_ADMIN_URL), psql, gpg,
# gzip and GNU time. Uses database axtract_bench, replaced on every run.
set -euo pipefail
cd "$(dirname "$0")/.."

phases=${BENCH_PHASES:-feeds go}
if [[ " $phases " == *" go "* ]]; then
  go_lines=${BENCH_GO_LINES:-500000}
  # go_bench PACKAGE PATTERN [BENCHTIME] prints the benchmark lines.
  go_bench() {
    echo "bench: go test -bench '$2' $1 ($go_lines claim lines)" >&2
    AXTRACT_BENCH_CLAIM_LINES=$go_lines AXTRACT_BENCH_MEMBERS=$((go_lines / 8)) \
      AXTRACT_BENCH_WORK_MEM=256MB AXTRACT_BENCH_JIT=off \
      go test -count=1 -timeout 90m -run '^$' -bench "$2" -benchtime "${3:-3x}" "$1" |
      grep -E '^(Benchmark|FAIL|--- FAIL)' || true
  }
  go_bench ./internal/format/ 'BenchmarkFormats$'
  go_bench ./internal/format/fhir/ 'BenchmarkCopyFHIR$'
  go_bench ./internal/format/x12/ 'BenchmarkCopyX12$'
  go_bench ./internal/format/parquet/ 'BenchmarkCopyParquet$'
  go_bench ./internal/privacy/ 'BenchmarkSafeHarborCopy$/ratio'
  # With policies the query runs in parallel. PostgreSQL's default of 2
  # workers oversubscribes a machine with fewer than 3 cores, so there the
  # benchmark runs again with the setting of AxTract's private cluster.
  workers=$(( $(nproc) - 1 < 2 ? $(nproc) - 1 : 2 ))
  if (( workers < 2 )); then
    echo "bench: the same with max_parallel_workers_per_gather $workers" >&2
    AXTRACT_BENCH_PARALLEL_WORKERS=$workers go_bench ./internal/privacy/ 'BenchmarkSafeHarborCopy$/ratio'
  fi
  go_bench ./internal/deliver/sftp/ 'BenchmarkSFTPUpload$' 2x
  go_bench ./internal/pullapi/ 'BenchmarkDownloadOverTLS$' 10x
  go_bench ./graph/ 'BenchmarkDashboard$|BenchmarkViewPreview$|BenchmarkViewPreviewDistinct$' 2000x
  [[ " $phases " == *" feeds "* ]] || exit 0
fi

lines=${BENCH_CLAIM_LINES:-2000000}
members=${BENCH_MEMBERS:-100000}
repeats=${BENCH_REPEATS:-3}
admin=${BENCH_ADMIN_URL:-"host=127.0.0.1 user=postgres dbname=postgres"}
db=axtract_bench
dsn="${admin/dbname=postgres/dbname=$db}"
bin=bin/axtract
[ -x /usr/bin/time ] || { echo "bench: GNU time is missing (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d /tmp/axbench.XXXXXX)
trap 'gpgconf --homedir "$work/gnupg" --kill gpg-agent 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -m 700 "$work/gnupg" && mkdir "$work/out"

export DATABASE_URL="$dsn"
g=(gpg --homedir "$work/gnupg" --batch --pinentry-mode loopback --passphrase '')
"${g[@]}" --quick-gen-key "Bench <bench@example.test>" ed25519 sign never 2>/dev/null
fpr=$("${g[@]}" --with-colons --list-keys bench@example.test | awk -F: '/^fpr/ {print $10; exit}')
"${g[@]}" --quick-add-key "$fpr" cv25519 encr never 2>/dev/null
"${g[@]}" --armor --export bench@example.test >"$work/bench.asc"

# BENCH_REUSE=1 keeps the database of the previous run, which takes minutes
# to generate, and only replaces the partners' keys and output folder.
if [ "${BENCH_REUSE:-0}" = 1 ]; then
  $bin migrate >/dev/null
  for p in full tenth; do
    $bin partner key add "$p" "$work/bench.asc" >/dev/null
    $bin destination define "$p" out --kind local --config "{\"dir\": \"$work/out\"}" >/dev/null
  done
else
echo "bench: preparing $db with $lines claim lines for $members members" >&2
psql -q -X "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
psql -q -X -At "$admin" -c "SELECT rolname FROM pg_roles WHERE starts_with(rolname, '${db}_')" |
  while read -r role; do psql -q -X "$admin" -c "DROP ROLE \"$role\""; done
psql -q -X "$admin" -c "CREATE DATABASE $db"
$bin migrate >/dev/null
$bin generate --members "$members" --claim-lines "$lines" >/dev/null

spec='{"dataset": "medical_claims", "columns": ["claim_id", "line_number", "member_id", "claim_type",
  "service_from", "service_to", "procedure_code", "procedure_code_system", "modifier_1", "place_of_service",
  "units", "charge_amount", "paid_amount", "diagnosis_code_system", "diagnosis_1", "diagnosis_2",
  "billing_provider_id", "payer_id", "member_birth_date", "member_gender", "member_zip"]}'
for p in full tenth; do
  $bin partner create "$p" --name "Bench $p" --purpose operations >/dev/null
  $bin partner key add "$p" "$work/bench.asc" >/dev/null
  echo "$spec" | $bin partner view define "$p" claims --spec - >/dev/null
  $bin destination define "$p" out --kind local --config "{\"dir\": \"$work/out\"}" >/dev/null
  for c in zstd gzip; do
    $bin feed define "$p-$c" --partner "$p" --view claims --destination out --compression "$c" >/dev/null
  done
done
psql -q -X "$dsn" -c "SELECT axtract.consent_grant_all('full', 'SELECT member_id FROM mart.member', DATE '2020-01-01')" >/dev/null
psql -q -X "$dsn" -c "SELECT axtract.consent_grant_all('tenth', 'SELECT member_id FROM mart.member ORDER BY member_id LIMIT $((members / 10))', DATE '2020-01-01')" >/dev/null
psql -q -X "$dsn" -c "VACUUM ANALYZE" >/dev/null
fi

copy_sql="SET ROLE ${db}_p_full; COPY (SELECT * FROM partner_full.claims) TO STDOUT WITH (FORMAT csv, HEADER true)"
rows=$(psql -X -At "$dsn" -c "SET ROLE ${db}_p_full; SELECT count(*) FROM partner_full.claims" | tail -1)

# seconds CMD... prints the elapsed seconds of CMD.
seconds() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
# The floor: the partner's COPY into a discarding sink in Go (psql would add
# its own row handling). The test binary is built once, before timing.
go test -c -o "$work/extract.test" ./internal/extract
floor_seconds() {
  AXTRACT_BENCH_DATABASE_URL="$dsn" AXTRACT_BENCH_ROLE="${db}_p_full" AXTRACT_BENCH_VIEW=full \
    "$work/extract.test" -test.run '^$' -test.bench BareCopy -test.benchtime 1x |
    awk '/^BenchmarkBareCopy/ {print $3 / 1e9}'
}
by_hand() { psql -X -q "$dsn" -c "$copy_sql" | gzip | "${g[@]}" --trust-model always -r "$fpr" --encrypt -o "$work/hand.csv.gz.pgp" --yes; }
# feed NAME prints "seconds max_rss_kib".
feed() { /usr/bin/time -f '%e %M' -o "$work/time" $bin feed run "$1" >/dev/null; cat "$work/time"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A t rss
for ((i = 1; i <= repeats; i++)); do
  echo "bench: round $i of $repeats" >&2
  t[floor]+="$(floor_seconds) "
  for f in full-zstd full-gzip tenth-zstd; do
    read -r sec kib < <(feed "$f")
    t[$f]+="$sec "; rss[$f]+="$kib "
  done
  t[hand]+="$(seconds by_hand) "
done

m() { tr ' ' '\n' <<<"${t[$1]}" | grep . | median; }
r() { tr ' ' '\n' <<<"${rss[$1]}" | grep . | sort -g | tail -1; }
fl=$(m floor)
printf '\nrows: %s (full), %s claim lines generated, median of %s rounds\n\n' "$rows" "$lines" "$repeats"
printf '| measurement | seconds | ratio to bare COPY | peak RSS MiB |\n| --- | ---: | ---: | ---: |\n'
printf '| bare COPY into a discarding sink | %.2f | 1.00 | |\n' "$fl"
for f in full-zstd full-gzip tenth-zstd; do
  printf '| feed %s | %.2f | %.2f | %.1f |\n' "$f" "$(m "$f")" "$(echo "$(m "$f") / $fl" | bc -l)" "$(echo "$(r "$f") / 1024" | bc -l)"
done
printf '| psql COPY, gzip, gpg by hand | %.2f | %.2f | |\n' "$(m hand)" "$(echo "$(m hand) / $fl" | bc -l)"
printf '\nby hand / gzip feed: %.2fx\n' "$(echo "$(m hand) / $(m full-gzip)" | bc -l)"
