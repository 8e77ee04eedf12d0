#!/usr/bin/env bash
# p95 latency of three queries the app runs, on scale databases made by
# `telehealth scale`, and how it grows from the smaller to the larger one.
#
#   benches/load/scale_p95.sh [RUNS]     (default 500 runs of each query per database)
#
# Environment: PGSERVER (default postgres://postgres@127.0.0.1:55432), SMALL_DB
# (telehealth_scale_100k) and LARGE_DB (telehealth_scale); make them with
#   DATABASE_URL=$PGSERVER/telehealth_scale_100k telehealth scale --consultations 100000
#   DATABASE_URL=$PGSERVER/telehealth_scale      telehealth scale
#
# The SQL is the app's own text, run the way the app runs it: as the role
# telehealth_app (row-level security applies) with the acting user set, as
# prepared statements executed over and over on one connection (so PostgreSQL
# may switch to a generic plan, as it does for the app's pool). Each run is
# timed by psql (\timing: client round trip on loopback, no concurrency):
#
#   search       the doctor search page (services::doctors::search, anonymous,
#                default order: soonest next free time): db::doctors::listed_count
#                and db::doctors::listed_page (one specialization, the form's
#                usual use; the first page, ordered by the precomputed
#                doctors.next_free_at), then doctors::windows, doctors::time_off
#                and doctors::busy (14 days) for the page's 10 doctors only; the
#                run is their sum.
#   search_all   the same without any filter.
#   schedule     a doctor's week (services::booking::agenda):
#                db::consultations::of_doctor, as the doctor, for a random
#                week within 8 weeks of today.
#   history      a patient's consultations (services::booking::my_consultations):
#                db::consultations::of_patient, as the patient.
#
# Then EXPLAIN (ANALYZE, BUFFERS) of one run of each, in the same session
# after the timed runs (so with the plan the app would be using by then).
#
# The search reads doctors.next_free_at, which the app's availability job
# keeps (services::doctors::refresh_next_free). `telehealth scale` works it
# out for every doctor after loading; a database made before migration
# 20261129000019 needs the migration and then a fresh `telehealth scale` (or
# the app started on it for a few seconds, so that its job runs).
set -euo pipefail

RUNS=${1:-500}
PGSERVER=${PGSERVER:-postgres://postgres@127.0.0.1:55432}
SMALL_DB=${SMALL_DB:-telehealth_scale_100k}
LARGE_DB=${LARGE_DB:-telehealth_scale}
OUT=${OUT:-$(mktemp -d /tmp/scale_p95.XXXXXX)}

# ---- The app's SQL (copied from the Rust source; $n are the same binds) ------

# src/server/db/doctors.rs, listed_page() (the default order: SearchOrder::Soonest)
PAGE='SELECT d.id, p.first_name, p.last_name, d.specialization, d.experience_years, d.qualification, d.bio,
                      d.languages, d.consultation_fee, d.currency AS "currency!", d.consultation_types, d.rating,
                      d.total_consultations, d.slot_minutes, d.buffer_minutes, d.min_notice_minutes,
                      d.booking_horizon_days,
                      CASE WHEN $2::text IS NULL THEN 1
                           ELSE word_similarity($2, p.first_name || '"'"' '"'"' || p.last_name) END AS "name_score!"
               FROM doctors d JOIN profiles p ON p.user_id = d.user_id
               WHERE d.is_verified AND d.is_available AND d.account_listed AND d.deleted_at IS NULL
                 AND d.license_expires_on >= $9
                 AND ($1::text IS NULL OR d.specialization = $1)
                 AND ($2::text IS NULL OR $2 <% (p.first_name || '"'"' '"'"' || p.last_name)
                      OR (p.first_name || '"'"' '"'"' || p.last_name) ILIKE '"'"'%'"'"' || $2 || '"'"'%'"'"')
                 AND ($3::text IS NULL OR $3 = ANY(d.languages))
                 AND ($4::text IS NULL OR d.currency = $4::text::currency_code)
                 AND ($5::numeric IS NULL OR d.consultation_fee >= $5)
                 AND ($6::numeric IS NULL OR d.consultation_fee <= $6)
                 AND ($7::numeric IS NULL OR d.rating >= $7)
                 AND ($8::text IS NULL OR $8 = ANY(d.consultation_types))
                 AND ($10::timestamptz IS NULL OR d.next_free_at < $10)
               ORDER BY d.next_free_at, d.rating DESC NULLS LAST, d.id
               LIMIT $11 OFFSET $12'

# src/server/db/doctors.rs, listed_count()
COUNT='SELECT count(*) AS "count!"
           FROM doctors d
           WHERE d.is_verified AND d.is_available AND d.account_listed AND d.deleted_at IS NULL
             AND d.license_expires_on >= $9
             AND ($1::text IS NULL OR d.specialization = $1)
             AND ($2::text IS NULL OR EXISTS (
                     SELECT 1 FROM profiles p
                     WHERE p.user_id = d.user_id
                       AND ($2 <% (p.first_name || '"'"' '"'"' || p.last_name)
                            OR (p.first_name || '"'"' '"'"' || p.last_name) ILIKE '"'"'%'"'"' || $2 || '"'"'%'"'"')))
             AND ($3::text IS NULL OR $3 = ANY(d.languages))
             AND ($4::text IS NULL OR d.currency = $4::text::currency_code)
             AND ($5::numeric IS NULL OR d.consultation_fee >= $5)
             AND ($6::numeric IS NULL OR d.consultation_fee <= $6)
             AND ($7::numeric IS NULL OR d.rating >= $7)
             AND ($8::text IS NULL OR $8 = ANY(d.consultation_types))
             AND ($10::timestamptz IS NULL OR d.next_free_at < $10)'

# src/server/db/doctors.rs, windows()
WINDOWS='SELECT id, doctor_id, day_of_week, start_time, end_time, timezone, is_recurring, valid_from, valid_until
           FROM availability_slots
           WHERE doctor_id = ANY($1) AND deleted_at IS NULL
           ORDER BY doctor_id, is_recurring DESC, day_of_week, valid_from, start_time'

# src/server/db/doctors.rs, time_off()
TIME_OFF='SELECT id, doctor_id, starts_at, ends_at, note FROM doctor_time_off
           WHERE doctor_id = ANY($1) AND ends_at > $2 ORDER BY doctor_id, starts_at'

# src/server/db/doctors.rs, busy()
BUSY='SELECT id AS "id!", doctor_id AS "doctor_id!", scheduled_at AS "scheduled_at!",
                  scheduled_end_at AS "scheduled_end_at!"
           FROM doctor_busy_times($1, $2, $3)'

# src/server/db/consultations.rs, consultation_query! (from all_consultations)
CONSULTATION_QUERY='SELECT c.id AS "id!", c.patient_id AS "patient_id!", c.doctor_id AS "doctor_id!",
                      d.user_id AS doctor_user_id,
                      dp.first_name AS doctor_first_name, dp.last_name AS doctor_last_name, d.specialization,
                      pp.first_name AS patient_first_name, pp.last_name AS patient_last_name,
                      pu.email AS patient_email, du.email AS doctor_email,
                      c.scheduled_at AS "scheduled_at!", c.scheduled_end_at AS "scheduled_end_at!",
                      c.status AS "status!", c.consultation_type AS "consultation_type!",
                      c.symptoms, c.hold_expires_at,
                      p.id AS payment_id, p.amount, p.currency AS "currency!", p.status AS "payment_status!",
                      p.refunded_amount, p.transaction_id
               FROM all_consultations c
               JOIN payments p ON p.consultation_id = c.id
               JOIN doctors d ON d.id = c.doctor_id
               JOIN profiles dp ON dp.user_id = d.user_id
               JOIN users du ON du.id = d.user_id
               JOIN profiles pp ON pp.user_id = c.patient_id
               JOIN users pu ON pu.id = c.patient_id
               '
# of_doctor()
OF_DOCTOR="$CONSULTATION_QUERY"'WHERE c.doctor_id = $1 AND c.scheduled_at >= $2 AND c.scheduled_at < $3
           AND coalesce(c.cancellation_reason, '"''"') <> '"'hold_expired'"'
         ORDER BY c.scheduled_at'
# of_patient()
OF_PATIENT="$CONSULTATION_QUERY"'WHERE c.patient_id = $1 ORDER BY c.scheduled_at'

prepare() {
    cat <<SQL
SET ROLE telehealth_app;
PREPARE listed_count(text, text, text, text, numeric, numeric, numeric, text, date, timestamptz) AS $COUNT;
PREPARE listed_page(text, text, text, text, numeric, numeric, numeric, text, date, timestamptz, bigint, bigint) AS $PAGE;
PREPARE windows(uuid[]) AS $WINDOWS;
PREPARE time_off(uuid[], timestamptz) AS $TIME_OFF;
PREPARE busy(uuid[], timestamptz, timestamptz) AS $BUSY;
PREPARE of_doctor(uuid, timestamptz, timestamptz) AS $OF_DOCTOR;
PREPARE of_patient(uuid) AS $OF_PATIENT;
SQL
}

# Acting user, as db::begin sets it (transaction-local).
actor() { echo "BEGIN; SELECT set_config('app.user_id', '$1', true), set_config('app.role', '$2', true);"; }
# search: listed_count, listed_page (the first page of 10), then windows,
# time_off, busy (14 days, DISCOVERY_DAYS) for the page's doctors, for one filter.
search_run() {
    local filter=$1 ids=$2
    actor "" ""
    echo '\timing on'
    echo "EXECUTE listed_count($filter, NULL, NULL, NULL, NULL, NULL, NULL, NULL, current_date, NULL);"
    echo "EXECUTE listed_page($filter, NULL, NULL, NULL, NULL, NULL, NULL, NULL, current_date, NULL, 10, 0);"
    echo "EXECUTE windows('$ids');"
    echo "EXECUTE time_off('$ids', now());"
    echo "EXECUTE busy('$ids', now(), now() + interval '14 days');"
    echo '\timing off'
    echo 'COMMIT;'
}
schedule_run() {
    actor "$2" doctor
    echo '\timing on'
    echo "EXECUTE of_doctor('$1', date_trunc('week', now()) + interval '1 week' * $3, date_trunc('week', now()) + interval '1 week' * ($3 + 1));"
    echo '\timing off'
    echo 'COMMIT;'
}
history_run() {
    actor "$1" patient
    echo '\timing on'
    echo "EXECUTE of_patient('$1');"
    echo '\timing off'
    echo 'COMMIT;'
}

# p95 (nearest rank) of the runs' times in a file of "label ms" lines.
percentiles() {
    awk -v L="$1" '$1 == L { print $2 }' "$2" | sort -n | awk '
        { v[NR] = $1; s += $1 }
        END {
            if (NR == 0) { print "n=0"; exit }
            i50 = int(NR * 0.50 + 0.999); i95 = int(NR * 0.95 + 0.999); i99 = int(NR * 0.99 + 0.999)
            printf "n=%d mean=%.2f p50=%.2f p95=%.2f p99=%.2f max=%.2f\n", NR, s / NR, v[i50], v[i95], v[i99], v[NR]
        }'
}

bench_db() {
    local db=$1 url="$PGSERVER/$1" sql="$OUT/$1.sql" log="$OUT/$1.times"
    echo "== $db: $(psql -XAt "$url" -c "SELECT format('%s doctors, %s patients, %s consultations, %s payments, %s prescriptions, %s audit rows',
        (SELECT count(*) FROM doctors), (SELECT count(*) FROM users WHERE role = 'patient'), (SELECT count(*) FROM consultations),
        (SELECT count(*) FROM payments), (SELECT count(*) FROM prescriptions), (SELECT count(*) FROM audit_logs))")"
    # Random subjects (fixed seed: the same picks for the same data).
    psql -XAt -F ' ' "$url" -c "SELECT setseed(0.42)" \
        -c "SELECT d.id, d.user_id FROM doctors d ORDER BY random() LIMIT $RUNS" >"$OUT/$db.doctors"
    psql -XAt "$url" -c "SELECT setseed(0.42)" \
        -c "SELECT id FROM users WHERE role = 'patient' ORDER BY random() LIMIT $RUNS" >"$OUT/$db.patients"
    sed -i '/^$/d; /^ *$/d' "$OUT/$db.doctors" "$OUT/$db.patients"
    # The availability index must be filled in (see the top of this file).
    local unknown
    unknown=$(psql -XAt "$url" -c "SELECT count(*) FROM doctors WHERE is_verified AND is_available
        AND account_listed AND deleted_at IS NULL AND next_free_checked_at IS NULL")
    ((unknown == 0)) || echo "  warning: $unknown listed doctors have no next free time worked out yet"
    # The ids of each search's first page (what listed_page() returns; looked up untimed).
    psql -XAt -F '|' "$url" -c "SELECT s, array_agg(id ORDER BY n)
        FROM (SELECT d.id, d.specialization AS s,
                     row_number() OVER (PARTITION BY d.specialization
                                        ORDER BY d.next_free_at, d.rating DESC NULLS LAST, d.id) AS n
              FROM doctors d
              WHERE d.is_verified AND d.is_available AND d.account_listed AND d.deleted_at IS NULL
                AND d.license_expires_on >= current_date) x
        WHERE n <= 10 GROUP BY s" >"$OUT/$db.specs"
    local all_ids
    all_ids=$(psql -XAt "$url" -c "SELECT array_agg(id) FROM (SELECT d.id FROM doctors d
              WHERE d.is_verified AND d.is_available AND d.account_listed AND d.deleted_at IS NULL
                AND d.license_expires_on >= current_date
              ORDER BY d.next_free_at, d.rating DESC NULLS LAST, d.id LIMIT 10) x")
    mapfile -t specs < <(grep -v '^|' "$OUT/$db.specs")
    mapfile -t doctors <"$OUT/$db.doctors"
    mapfile -t patients <"$OUT/$db.patients"
    {
        echo '\set QUIET on'
        echo '\o /dev/null'
        prepare
        for ((i = 0; i < RUNS; i++)); do
            local spec=${specs[$((i % ${#specs[@]}))]}
            echo '\echo @search'
            search_run "'${spec%%|*}'" "${spec#*|}"
            if ((i % 5 == 0)); then # fewer: the heaviest
                echo '\echo @search_all'
                search_run NULL "$all_ids"
            fi
            local doctor=${doctors[$((i % ${#doctors[@]}))]}
            echo '\echo @schedule'
            schedule_run "${doctor% *}" "${doctor#* }" $((RANDOM % 17 - 8))
            echo '\echo @history'
            history_run "${patients[$((i % ${#patients[@]}))]}"
        done
        # One representative run of each, explained, after the timed runs.
        local spec=${specs[0]} doctor=${doctors[0]}
        echo '\o'
        echo '\echo ---- EXPLAIN search: listed_count (one specialization)'
        actor "" ""
        echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE listed_count('${spec%%|*}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, current_date, NULL);"
        echo '\echo ---- EXPLAIN search: listed_page (one specialization, the first page)'
        echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE listed_page('${spec%%|*}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, current_date, NULL, 10, 0);"
        echo '\echo ---- EXPLAIN search_all: listed_count, listed_page (no filter)'
        echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE listed_count(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, current_date, NULL);"
        echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE listed_page(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, current_date, NULL, 10, 0);"
        echo '\echo ---- EXPLAIN search: busy (inside doctor_busy_times, for the doctors of the page)'
        echo "SET LOCAL ROLE postgres; LOAD 'auto_explain'; SET LOCAL auto_explain.log_min_duration = 0; SET LOCAL auto_explain.log_analyze = on; SET LOCAL auto_explain.log_buffers = on; SET LOCAL auto_explain.log_nested_statements = on; SET LOCAL client_min_messages = log; SET LOCAL auto_explain.log_level = notice; SET LOCAL ROLE telehealth_app;"
        echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE busy('${spec#*|}', now(), now() + interval '14 days');"
        echo 'COMMIT;'
        echo '\echo ---- EXPLAIN schedule: of_doctor (this week)'
        actor "${doctor#* }" doctor
        echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE of_doctor('${doctor% *}', date_trunc('week', now()), date_trunc('week', now()) + interval '1 week');"
        echo 'COMMIT;'
        echo '\echo ---- EXPLAIN history: of_patient'
        actor "${patients[0]}" patient
        echo "EXPLAIN (ANALYZE, BUFFERS) EXECUTE of_patient('${patients[0]}');"
        echo 'COMMIT;'
    } >"$sql"
    psql -X -v ON_ERROR_STOP=1 "$url" -f "$sql" >"$OUT/$db.out" 2>&1 || { tail -20 "$OUT/$db.out"; exit 1; }
    # Sum the Time: lines after each @label into one run.
    awk '/^@/ { if (label != "") print label, t; label = substr($1, 2); t = 0; next }
         /^Time: / { t += $2 }
         /^---- EXPLAIN/ { if (label != "") print label, t; label = ""; exit }
         END { if (label != "") print label, t }' "$OUT/$db.out" >"$log"
    for label in search search_all schedule history; do
        printf '  %-11s %s\n' "$label" "$(percentiles "$label" "$log")"
    done
    sed -n '/^---- EXPLAIN/,$p' "$OUT/$db.out" | sed 's/^NOTICE:  //' >"$OUT/$db.explain"
}

p95_of() { percentiles "$2" "$OUT/$1.times" | sed -E 's/.*p95=([0-9.]+).*/\1/'; }

echo "scale p95 bench: $RUNS runs each (search_all: $((RUNS / 5))); files in $OUT"
bench_db "$SMALL_DB"
bench_db "$LARGE_DB"
echo
echo "== p95 growth from $SMALL_DB to $LARGE_DB (goal: p95 <= 50 ms, growth <= 1.5x)"
for label in search search_all schedule history; do
    small=$(p95_of "$SMALL_DB" "$label")
    large=$(p95_of "$LARGE_DB" "$label")
    awk -v l="$label" -v s="$small" -v b="$large" 'BEGIN {
        printf "  %-11s %8.2f ms -> %8.2f ms   x%.2f   %s\n", l, s, b, (s > 0 ? b / s : 0),
               (b <= 50 && (s == 0 || b / s <= 1.5) ? "ok" : "MISSED") }'
done
echo
echo "== EXPLAIN (ANALYZE, BUFFERS) on $LARGE_DB"
cat "$OUT/$LARGE_DB.explain"
