#!/usr/bin/env bats
#
# The backup and restore apps (nix/apps/backup.sh, restore.sh) against a real PostgreSQL:
# the image's own entrypoint (nix/postgres/entrypoint.sh) runs Debian's server binaries
# with a password (SCRAM) and a private socket directory, like the pod does. The fake
# kubectl (fake-ops-data.bash with FAKE_EXEC_LOCAL=1) runs the command of each
# `kubectl exec` on this machine with the pod's environment, so the very commands the apps
# send into the pod dump and restore this server; minikube and helm stay fakes. The
# database gets the backend's migrations and rows with awkward values (Unicode, NULLs,
# arrays, JSON, quotes), then: backup, a fresh (migrated, empty) database, restore, and
# the data must be identical (a plain pg_dump of both compared); a database with data is
# refused without --force and replaced with it; a damaged dump changes nothing.
#
# Needs: the postgresql package (server and client), util-linux (setpriv).

setup_file() {
    pgbin=""
    local dir
    for dir in $(compgen -G '/usr/lib/postgresql/*/bin' | sort -V); do
        if [[ -x $dir/initdb && -x $dir/postgres && -x $dir/psql && -x $dir/pg_dump && -x $dir/pg_restore ]]; then
            pgbin=$dir
        fi
    done
    if [[ -z $pgbin ]]; then
        echo "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; install them: apt-get install postgresql" >&2
        return 1
    fi
    as_pg=()
    if ((EUID == 0)); then
        if ! id -u postgres >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
            echo "running as root needs the 'postgres' user (apt-get install postgresql) and setpriv (util-linux)" >&2
            return 1
        fi
        as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    fi
    # Not under BATS_FILE_TMPDIR: its parents are private to root.
    work=$(mktemp -d /tmp/taskflow-pg-backup.XXXXXXXX)
    mkdir -p "$work/sock"
    printf '%s\n' 'pw-for-the-test-only' >"$work/password"
    chmod 0644 "$work/password"
    if ((EUID == 0)); then
        chown -R postgres: "$work"
    fi
    "${as_pg[@]}" env PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" POSTGRES_PASSWORD_FILE="$work/password" \
        bash "$BATS_TEST_DIRNAME/../../../nix/postgres/entrypoint.sh" -c listen_addresses= \
        -c "unix_socket_directories=$work/sock" >>"$work/log" 2>&1 3>&- &
    echo "$!" >"$work/pid"
    local ready=0
    for _ in {1..300}; do
        if "$pgbin/pg_isready" -q -h "$work/sock"; then
            ready=1
            break
        fi
        sleep 0.1
    done
    if ((!ready)); then
        echo "PostgreSQL did not start within 30 s:" >&2
        cat "$work/log" >&2
        return 1
    fi
    export PGBIN=$pgbin WORK=$work
}

teardown_file() {
    if [[ -n ${WORK:-} && -e $WORK/pid ]]; then
        local pid
        pid=$(cat "$WORK/pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in {1..100}; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        rm -rf -- "$WORK"
    fi
}

setup() {
    t=$BATS_TEST_TMPDIR
    apps="$BATS_TEST_DIRNAME/../../../nix/apps"
    mkdir -p "$t/fake" "$t/out"
    local tool
    for tool in minikube helm kubectl; do
        ln -sf "$BATS_TEST_DIRNAME/fake-ops-data.bash" "$t/fake/$tool"
    done
    # The apps' own pg_restore is the real one (the Nix wrapper provides PostgreSQL's).
    export PATH="$t/fake:$PGBIN:$PATH"
    export FAKE_LOG=$t/calls.log FAKE_STATE=$t/state FAKE_EXEC_LOCAL=1 FAKE_PG_BIN=$PGBIN \
        FAKE_PG_HOST=$WORK/sock FAKE_PG_USER=taskflow FAKE_PG_DB=taskflow \
        FAKE_PG_PASSWORD_FILE=$WORK/password
    : >"$FAKE_LOG"
    unset TASKFLOW_MINIKUBE_PROFILE TASKFLOW_RELEASE TASKFLOW_NAMESPACE TASKFLOW_TIMEOUT
    TASKFLOW_TIMEOUT=60s
    export TASKFLOW_TIMEOUT
}

# sql: runs stdin (or -c ...) in the test database as its owner.
sql() {
    PGPASSWORD=pw-for-the-test-only PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 \
        -h "$WORK/sock" -U taskflow -d taskflow "$@"
}

# A fresh release's database: the backend's migrations applied, as diesel records them,
# and no rows.
fresh_database() {
    sql <<<'DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION pg_database_owner; GRANT USAGE ON SCHEMA public TO PUBLIC;'
    sql <<<'CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);'
    local migration version
    for migration in "$BATS_TEST_DIRNAME"/../../../backend/migrations/*/; do
        sql -f "$migration/up.sql"
        version=${migration%/}
        version=${version##*/}
        version=${version%%_*}
        sql -c "INSERT INTO __diesel_schema_migrations (version) VALUES ('${version//-/}')"
    done
}

# Rows with awkward values in every table.
add_data() {
    sql <<'EOF'
INSERT INTO users (id, name, email, password_hash) VALUES
  ('00000000-0000-4000-8000-000000000001', 'Zoë O''Brien – 测试', 'zoe@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA'),
  ('00000000-0000-4000-8000-000000000002', 'Tab	and "quotes"', 'tab@example.com', '$argon2id$x');
INSERT INTO tasks (user_id, title, description, completed, priority, due_date, tags) VALUES
  ('00000000-0000-4000-8000-000000000001', 'Buy milk', NULL, false, 2, '2026-12-01', '{shopping,"with space"}'),
  ('00000000-0000-4000-8000-000000000001', 'Back\slash', E'line one\nline two', true, 0, NULL, '{}'),
  ('00000000-0000-4000-8000-000000000002', 'Emoji 🚀', 'ünïcödé', false, 1, '2030-01-31', '{a,b,c}');
INSERT INTO conversations (id, user_id, title) VALUES
  ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-000000000001', 'Plans');
INSERT INTO messages (conversation_id, role, content, tool_calls) VALUES
  ('00000000-0000-4000-8000-0000000000c1', 'user', 'Add a task', '[]'),
  ('00000000-0000-4000-8000-0000000000c1', 'assistant', 'Done.', '[{"name":"add_task","arguments":{"title":"x"},"outcome":{"ok":true}}]');
INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES
  ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-000000000002', '2030-01-01T00:00:00Z');
EOF
}

# The data of the database as a plain dump (COPY of every table with its column list, and
# the sequence positions), without the lines that differ between runs of pg_dump. The
# schema is not compared as text: PostgreSQL prints a restored CHECK expression with
# other parentheses than the migration wrote it.
snapshot() {
    PGPASSWORD=pw-for-the-test-only "$PGBIN/pg_dump" --data-only --no-owner --no-privileges \
        -h "$WORK/sock" -U taskflow -d taskflow | grep -Ev '^\\(un)?restrict |^-- Dumped (from|by) '
}

@test "backup, then restore into a fresh database: identical data, backend stopped and started" {
    fresh_database
    add_data
    snapshot >"$t/before.sql"
    grep -q "Zoë O'Brien" "$t/before.sql"

    run "$apps/backup.sh" "$t/out/taskflow.dump"
    [ "$status" -eq 0 ]
    [[ $output == *"Backup written: $t/out/taskflow.dump"* ]]
    [[ $output == *"readable by pg_restore: 6 tables with data"* ]]
    [ "$(head -c 5 "$t/out/taskflow.dump")" = PGDMP ]
    "$PGBIN/pg_restore" --list "$t/out/taskflow.dump" | grep -q 'TABLE DATA public tasks'

    # A fresh release: the schema, no rows.
    fresh_database
    [ "$(sql -c 'SELECT count(*) FROM users')" = 0 ]
    run "$apps/restore.sh" "$t/out/taskflow.dump"
    [ "$status" -eq 0 ]
    [[ $output == *"the database holds no data"* ]]
    [[ $output == *"users: 2 rows"* && $output == *"tasks: 3 rows"* && $output == *"messages: 2 rows"* ]]
    grep -Fxq "kubectl --context minikube --namespace taskflow scale deployment taskflow-backend --replicas 0" "$FAKE_LOG"
    grep -Fxq "kubectl --context minikube --namespace taskflow scale deployment taskflow-backend --replicas 1" "$FAKE_LOG"

    snapshot >"$t/after.sql"
    diff -u "$t/before.sql" "$t/after.sql"
    # New rows continue after the restored ones (the identity sequences came back too).
    [ "$(sql -c "INSERT INTO tasks (user_id, title) VALUES ('00000000-0000-4000-8000-000000000002', 'Next') RETURNING id")" = 4 ]
}

@test "restore refuses a database with data unless --force, which replaces it exactly" {
    fresh_database
    add_data
    snapshot >"$t/before.sql"
    run "$apps/backup.sh" "$t/out/taskflow.dump"
    [ "$status" -eq 0 ]

    # Changes after the backup.
    sql -c "UPDATE tasks SET title = 'Changed' WHERE id = 1"
    sql -c "INSERT INTO users (name, email, password_hash) VALUES ('Later', 'later@example.com', 'x')"
    sql -c "CREATE TABLE later_table (x int)"
    snapshot >"$t/changed.sql"

    run "$apps/restore.sh" "$t/out/taskflow.dump"
    [ "$status" -eq 8 ]
    [[ $output == *"holds data: conversations (1 rows), messages (2 rows), revoked_tokens (1 rows), tasks (3 rows), users (3 rows)"* ]]
    snapshot >"$t/still.sql"
    diff -u "$t/changed.sql" "$t/still.sql"
    if grep -q "scale deployment" "$FAKE_LOG"; then
        echo "the backend was touched" >&2
        return 1
    fi

    run "$apps/restore.sh" --force "$t/out/taskflow.dump"
    [ "$status" -eq 0 ]
    snapshot >"$t/after.sql"
    diff -u "$t/before.sql" "$t/after.sql"
}

@test "a damaged dump is refused before anything changes; a failing restore rolls back" {
    fresh_database
    add_data
    run "$apps/backup.sh" "$t/out/taskflow.dump"
    [ "$status" -eq 0 ]
    snapshot >"$t/before.sql"

    # Cut inside the table of contents, and cut off the end (the table of contents still
    # reads, the data does not).
    : >"$FAKE_LOG"
    head -c 2000 "$t/out/taskflow.dump" >"$t/out/cut.dump"
    run "$apps/restore.sh" --force "$t/out/cut.dump"
    [ "$status" -eq 1 ]
    [[ $output == *"$t/out/cut.dump is not a dump that pg_restore can read"* ]]
    size=$(wc -c <"$t/out/taskflow.dump")
    head -c $((size - 200)) "$t/out/taskflow.dump" >"$t/out/short.dump"
    run "$apps/restore.sh" --force "$t/out/short.dump"
    [ "$status" -eq 1 ]
    [[ $output == *"pg_restore cannot read all of $t/out/short.dump"* ]]
    if grep -q "kubectl" "$FAKE_LOG"; then
        echo "the cluster was touched: $output" >&2
        return 1
    fi

    # A restore that fails half-way: an event trigger, created after the backup outside
    # the schema public, refuses to let the table tasks be created.
    sql <<'EOF'
CREATE SCHEMA guard;
CREATE FUNCTION guard.refuse() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE object_identity = 'public.tasks') THEN
    RAISE EXCEPTION 'tasks may not be created now';
  END IF;
END $$;
CREATE EVENT TRIGGER refuse_tasks ON ddl_command_end EXECUTE FUNCTION guard.refuse();
EOF
    run "$apps/restore.sh" --force "$t/out/taskflow.dump"
    sql <<<'DROP EVENT TRIGGER refuse_tasks; DROP SCHEMA guard CASCADE;'
    [ "$status" -eq 6 ]
    [[ $output == *"tasks may not be created now"* ]]
    [[ $output == *"it was rolled back, the database is unchanged"* ]]
    [[ $output == *"the backend was scaled back to 1 pod(s)"* ]]
    snapshot >"$t/after.sql"
    diff -u "$t/before.sql" "$t/after.sql"
}
