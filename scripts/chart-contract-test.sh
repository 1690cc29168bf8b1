#!/usr/bin/env bash
#
# chart-contract-test.sh - run the real services exactly as the Helm chart configures them.
#
# Usage:
#   scripts/chart-contract-test.sh [--values FILE] [--bin-dir DIR] [--no-build]
#   scripts/chart-contract-test.sh --self-test
#   scripts/chart-contract-test.sh --help
#
# Renders the chart (release "taskflow", namespace "taskflow", helm/ci/default-values.yaml
# unless --values says otherwise) and reads, for the backend and frontend Deployments,
# each container's arguments, ports, probes, stop settings and environment: literal
# values, the rendered ConfigMaps behind `envFrom`, and `secretKeyRef` values taken from
# the rendered Secret. It then starts a throwaway PostgreSQL (scripts/with-postgres.sh),
# creates the role and database named in the rendered DATABASE_URL with the rendered
# password (and makes the server check that password), and runs the real binaries with
# `env -i` and exactly those variables, arguments and ports. Three things differ from a
# pod, and only these:
#   - DATABASE_URL's host:port, the PostgreSQL Service, becomes the local server's socket
#     directory (same port number, user, password and database);
#   - BACKEND_URL's host:port, the backend Service, becomes 127.0.0.1 and the container
#     port the Service targets;
#   - HTTP_HOST becomes 127.0.0.1, so that nothing listens beyond this machine.
# Before rewriting, it checks that those URLs name the rendered Services and ports. Not
# reproduced, because they are not part of the rendering: the image's own Env (HTTP_HOST,
# HTTP_PORT and LOG_FORMAT, which the pod's values override, and SSL_CERT_FILE, used only for
# outgoing HTTPS, which this test makes none of) and what the container runtime adds
# (HOSTNAME, KUBERNETES_SERVICE_*), which the services do not read.
#
# Then it calls every startup, liveness and readiness probe of the rendering the way
# the kubelet does (GET http://127.0.0.1:<port><path>, each attempt limited to the
# probe's timeoutSeconds, attempts periodSeconds apart, at most failureThreshold
# failures) and requires a 2xx answer; runs the `helm test` pod's commands (`probe
# <url>` with the Service address rewritten as above); signs up, signs in and creates a
# task through the frontend with curl, as a browser would (cookies, the form's csrf
# field, Sec-Fetch-Site: same-origin); checks the assistant as rendered: the chat
# answers offline (the values give no key), and /mcp accepts a request whose Host is
# the backend Service's name in the cluster and refuses another host with 403; and
# finally sends SIGTERM and requires each service to exit 0 within its grace period
# minus the preStop pause.
#
# Last, the assistant with a key: the chart is rendered once more with
# `--set llm.apiKey=<random> --set llm.baseUrl=http://127.0.0.1:<free port>/v1`, a
# small fake OpenAI-compatible provider listens on that port, and the backend runs
# with that rendering's environment (its database password set on the role first, its
# DATABASE_URL and HTTP_HOST changed as above). A chat message must then be answered by
# the fake provider, which must have received the key from the rendered Secret as
# `Authorization: Bearer <key>` and the rendered model name.
#
# The rendered ports must be free on 127.0.0.1; the test fails otherwise. Every
# process it starts is stopped and every file removed at the end. The last line of
# the output is "N passed, N failed"; the exit status is 0 only if nothing failed.
#
# Options:
#   --values FILE  values file to render with (default: helm/ci/default-values.yaml)
#   --bin-dir DIR  directory with taskflow-backend and taskflow-frontend; default:
#                  $CARGO_TARGET_DIR/debug after `cargo build -p taskflow-backend
#                  -p taskflow-frontend` (CARGO_TARGET_DIR defaults to
#                  ${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target, as in check.sh)
#   --no-build     use the binaries in the bin directory as they are
#   --self-test    check this script's URL helpers and exit
#   -h, --help     show this help
#
# Needs: helm, jq, yq (the jq wrapper), curl, psql, python3 (the fake provider), the
# PostgreSQL server binaries (for scripts/with-postgres.sh) and cargo unless
# --bin-dir/--no-build.

set -euo pipefail

prog=chart-contract-test.sh
root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
Usage: scripts/$prog [--values FILE] [--bin-dir DIR] [--no-build]
       scripts/$prog --self-test

Renders the chart and runs the real backend and frontend with exactly the rendered
environment, arguments and ports, against a throwaway PostgreSQL; calls every
rendered probe as the kubelet would, runs the helm test commands, uses the app
through the frontend, checks the offline assistant and /mcp's allowed hosts, and stops
both services with SIGTERM; then runs the backend from a rendering with an API key
against a fake provider on 127.0.0.1. The only changes to the rendered settings: the
database and backend Service addresses point at the local server and process, and
HTTP_HOST is 127.0.0.1. Ends with "N passed, N failed".

Options:
  --values FILE  values file (default: helm/ci/default-values.yaml)
  --bin-dir DIR  directory holding taskflow-backend and taskflow-frontend
                 (default: \$CARGO_TARGET_DIR/debug, built first)
  --no-build     do not run cargo build
  --self-test    check the URL helpers of this script and exit
  -h, --help     show this help
EOF
}

die() {
    echo "$prog: $*" >&2
    exit 1
}

# --- Pure helpers (covered by --self-test) -------------------------------------

# Percent-encodes every byte except unreserved characters (RFC 3986).
urlencode() {
    local s=$1 out="" c i
    local LC_ALL=C
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [A-Za-z0-9._~-]) out+=$c ;;
            *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

# Decodes %XX escapes.
urldecode() {
    local s=${1//+/ }
    printf '%b' "${s//%/\\x}"
}

# Splits postgres://user:password@host:port/database into six lines: scheme, user,
# password, host, port, database (user and password still URL-encoded).
parse_db_url() {
    local re='^(postgres|postgresql)://([^:@/]+):([^@/]*)@([^:@/]+):([0-9]+)/([^/?#]+)$'
    [[ $1 =~ $re ]] || return 1
    printf '%s\n' "${BASH_REMATCH[@]:1:6}"
}

# Splits http://host:port into two lines: host, port.
parse_http_url() {
    local re='^http://([^:/?#]+):([0-9]+)(/.*)?$'
    [[ $1 =~ $re ]] || return 1
    printf '%s\n%s\n%s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}"
}

self_test() {
    local failures=0 total=0
    expect() {
        total=$((total + 1))
        if [[ $2 == "$3" ]]; then
            echo "ok - $1"
        else
            echo "not ok - $1: got '$2', want '$3'"
            failures=$((failures + 1))
        fi
    }
    expect "urlencode keeps unreserved characters" "$(urlencode 'aZ09-._~')" 'aZ09-._~'
    expect "urlencode escapes a socket path" "$(urlencode '/tmp/taskflow-pg.X1')" '%2Ftmp%2Ftaskflow-pg.X1'
    expect "urlencode escapes userinfo characters" "$(urlencode 'p@ss:w/rd')" 'p%40ss%3Aw%2Frd'
    expect "urldecode reverses urlencode" "$(urldecode "$(urlencode 'p@ss w:rd/%')")" 'p@ss w:rd/%'
    expect "parse_db_url splits a rendered URL" \
        "$(parse_db_url 'postgres://taskflow:Ab1@taskflow-postgresql:5432/taskflow' | tr '\n' ' ')" \
        'postgres taskflow Ab1 taskflow-postgresql 5432 taskflow '
    expect "parse_db_url refuses a URL without a port" \
        "$(parse_db_url 'postgres://u:p@host/db' || echo refused)" 'refused'
    expect "parse_http_url splits BACKEND_URL" \
        "$(parse_http_url 'http://taskflow-backend:8000' | tr '\n' ' ')" 'taskflow-backend 8000  '
    expect "parse_http_url keeps the path of a probe URL" \
        "$(parse_http_url 'http://taskflow-frontend:3000/healthz' | tr '\n' ' ')" 'taskflow-frontend 3000 /healthz '
    expect "parse_http_url refuses https" "$(parse_http_url 'https://x:1' || echo refused)" 'refused'
    echo "$((total - failures)) passed, $failures failed"
    ((failures == 0))
}

# --- Command line ------------------------------------------------------------------

values=$root/helm/ci/default-values.yaml
bin_dir=""
build=1
inner=""
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --self-test)
            self_test
            exit $?
            ;;
        --values)
            [[ $# -ge 2 ]] || {
                echo "$prog: --values needs a file" >&2
                exit 2
            }
            values=$2
            shift
            ;;
        --bin-dir)
            [[ $# -ge 2 ]] || {
                echo "$prog: --bin-dir needs a directory" >&2
                exit 2
            }
            bin_dir=$2
            shift
            ;;
        --no-build)
            build=0
            ;;
        --inner)
            # Internal: the part that runs inside scripts/with-postgres.sh.
            inner=$2
            shift
            ;;
        *)
            echo "$prog: unknown option: $1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done

# --- Bookkeeping shared by both phases (results go to a file) -----------------------

results=""
pass() {
    echo "ok - $1"
    echo "pass" >>"$results"
}
fail() {
    echo "FAILED - $1" >&2
    echo "fail" >>"$results"
}
# check NAME COMMAND...: records COMMAND's success or failure; sets last_ok (1 or 0).
last_ok=1
check() {
    local name=$1
    shift
    if "$@"; then
        pass "$name"
        last_ok=1
    else
        fail "$name"
        last_ok=0
    fi
}

# --- Phase 2: inside with-postgres.sh ------------------------------------------------

# Set in phase 1 and passed to phase 2 through "$work/settings".
pg_user="" pg_db="" pg_password=""

pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}

# spec COMPONENT JQ-FILTER: a value from the extracted spec of a component.
spec() {
    jq -r "$2" "$work/$1.json"
}

# Reads the resolved environment of a component into the array named by $2.
load_env() {
    local -n _env=$2
    mapfile -d '' -t _env < <(jq -j '.env | to_entries[] | "\(.key)=\(.value)\u0000"' "$work/$1.json")
}

# Replaces NAME=... in the array named by $1.
set_env() {
    local -n _arr=$1
    local i
    for i in "${!_arr[@]}"; do
        if [[ ${_arr[$i]} == "$2="* ]]; then
            _arr[i]="$2=$3"
            return 0
        fi
    done
    _arr+=("$2=$3")
}

get_env() {
    local -n _from=$1
    local kv
    for kv in "${_from[@]}"; do
        if [[ $kv == "$2="* ]]; then
            printf '%s' "${kv#*=}"
            return 0
        fi
    done
    return 1
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# One kubelet-style HTTP probe attempt; prints the status code.
probe_once() {
    curl -s -o /dev/null -w '%{http_code}' --max-time "$2" \
        -H 'User-Agent: kube-probe/1.30' -H 'Accept: */*' "$1" || true
}

# run_probe COMPONENT KIND: calls the rendered probe as the kubelet would. The startup
# probe must succeed before failureThreshold attempts fail; liveness and readiness are
# then called the same way (readiness: successThreshold consecutive successes).
run_probe() {
    local c=$1 kind=$2 path port period timeout threshold success delay
    path=$(spec "$c" ".probes.$kind.path")
    port=$(spec "$c" ".probes.$kind.port")
    period=$(spec "$c" ".probes.$kind.periodSeconds")
    timeout=$(spec "$c" ".probes.$kind.timeoutSeconds")
    threshold=$(spec "$c" ".probes.$kind.failureThreshold")
    success=$(spec "$c" ".probes.$kind.successThreshold")
    delay=$(spec "$c" ".probes.$kind.initialDelaySeconds")
    local url="http://127.0.0.1:$port$path" failures=0 successes=0 code
    sleep "$delay"
    while :; do
        code=$(probe_once "$url" "$timeout")
        if [[ $code == 2?? ]]; then
            successes=$((successes + 1))
            if ((successes >= success)); then
                pass "$c $kind probe GET $path on port $port answers $code (after $failures failed attempts; limit $threshold)"
                return 0
            fi
        else
            successes=0
            failures=$((failures + 1))
            if ((failures >= threshold)); then
                fail "$c $kind probe GET $path on port $port: $failures attempts failed (last status '$code', ${timeout}s timeout each, ${period}s apart)"
                return 1
            fi
        fi
        sleep "$period"
    done
}

# A form post as a browser on our own page sends it. Prints "status location".
post_form() {
    local url=$1
    shift
    curl -s -o "$work/post.html" -w '%{http_code} %{redirect_url}' -b "$work/jar" -c "$work/jar" \
        -H 'Sec-Fetch-Site: same-origin' -H "Origin: $public_origin" "$@" "$url"
}

get_page() {
    rm -f "$work/page.html"
    curl -s -o "$work/page.html" -w '%{http_code}' -b "$work/jar" -c "$work/jar" "$1"
}

csrf_of_page() {
    [[ -f $work/page.html ]] || return 0
    sed -n 's/.*name="csrf" value="\([0-9a-f]\{64\}\)".*/\1/p' "$work/page.html" | head -n 1
}

# expect_redirect "STATUS LOCATION" PATH-PREFIX: a 303 to a location on our site
# starting with PATH-PREFIX.
expect_redirect() {
    local status=${1%% *} location=${1#* }
    location=${location#http://127.0.0.1:*/}
    [[ $status == 303 && /$location == "$2"* ]]
}

page_ok() {
    [[ $1 == 200 && -n $2 ]]
}

# The account app_flow registers, for the assistant checks that follow.
flow_email="" flow_password=""

app_flow() {
    local base=$1 email password csrf out code title
    email="contract-$$-$RANDOM@example.com"
    password="Contract-test-$RANDOM-$RANDOM-pw"
    flow_email=$email flow_password=$password
    title="Contract test task $RANDOM"

    code=$(get_page "$base/register")
    csrf=$(csrf_of_page)
    check "frontend: GET /register answers 200 with an anti-forgery token" page_ok "$code" "$csrf"
    ((last_ok)) || return 1

    out=$(post_form "$base/register" --data-urlencode "name=Contract Test" \
        --data-urlencode "email=$email" --data-urlencode "password=$password" \
        --data-urlencode "password_confirm=$password" --data-urlencode "csrf=$csrf")
    check "frontend: registering an account redirects to the sign-in page (got: $out)" \
        expect_redirect "$out" /login
    ((last_ok)) || return 1

    code=$(get_page "$base/login")
    csrf=$(csrf_of_page)
    out=$(post_form "$base/login" --data-urlencode "email=$email" \
        --data-urlencode "password=$password" --data-urlencode "csrf=$csrf")
    check "frontend: signing in redirects to the task list (got: $out)" \
        expect_redirect "$out" /tasks
    ((last_ok)) || return 1
    check "frontend: signing in sets the session cookie" grep -q 'taskflow_session' "$work/jar"
    ((last_ok)) || return 1

    code=$(get_page "$base/tasks")
    csrf=$(csrf_of_page)
    check "frontend: GET /tasks answers 200 when signed in" page_ok "$code" "$csrf"
    ((last_ok)) || return 1

    out=$(post_form "$base/tasks" --data-urlencode "title=$title" --data-urlencode "priority=medium" \
        --data-urlencode "return_to=/tasks" --data-urlencode "csrf=$csrf")
    check "frontend: creating a task redirects back to the list (got: $out)" \
        expect_redirect "$out" /tasks
    ((last_ok)) || return 1

    code=$(get_page "$base/tasks")
    check "frontend: the new task is listed (stored through the backend in PostgreSQL)" \
        grep -qF "$title" "$work/page.html"
}

# Sends SIGTERM and requires exit status 0 within the given seconds.
stop_within() {
    local name=$1 pid=$2 limit=$3 waited=0 status=0
    # Whether it still runs is asked before the signal: a fast shutdown can leave a zombie
    # within microseconds of it.
    if [[ $(ps -o stat= -p "$pid" 2>/dev/null) == Z* ]] || ! kill -TERM "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || status=$?
        fail "$name had already exited (status $status) before SIGTERM"
        return 1
    fi
    while kill -0 "$pid" 2>/dev/null && [[ $(ps -o stat= -p "$pid" 2>/dev/null) != Z* ]]; do
        if ((waited >= limit * 10)); then
            fail "$name did not exit within ${limit}s of SIGTERM"
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    wait "$pid" || status=$?
    check "$name exits with status 0 within ${limit}s of SIGTERM (grace period minus preStop pause; took ~$((waited / 10))s)" \
        test "$status" -eq 0
}

# api_login BASE: signs in at the backend's API with app_flow's account; prints the token.
api_login() {
    jq -n --arg email "$flow_email" --arg password "$flow_password" '{email: $email, password: $password}' |
        curl -s --max-time 10 -H 'Content-Type: application/json' --data-binary @- "$1/api/auth/login" |
        jq -er '.access_token'
}

# chat BASE TOKEN MESSAGE: posts a chat message; writes the answer to $work/chat.json
# and prints the status code.
chat() {
    jq -n --arg message "$3" '{message: $message}' |
        curl -s --max-time 30 -o "$work/chat.json" -w '%{http_code}' -H 'Content-Type: application/json' \
            -H "Authorization: Bearer $2" --data-binary @- "$1/api/chat" || true
}

chat_is_offline() {
    [[ $1 == 200 ]] && jq -e '.offline == true and (.reply | startswith("Offline mode:"))' "$work/chat.json" >/dev/null
}

# mcp_status BASE TOKEN HOST: a tools/list request with the given Host header; prints
# the status code (the answer goes to $work/mcp.json).
mcp_status() {
    curl -s --max-time 10 -o "$work/mcp.json" -w '%{http_code}' -H "Host: $3" \
        -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' \
        --data '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "$1/mcp" || true
}

mcp_lists_tools() {
    [[ $1 == 200 ]] && [[ $(jq -r '[.result.tools[].name] | length' "$work/mcp.json" 2>/dev/null) -ge 5 ]]
}

# The offline assistant and /mcp's Host check, with the environment as rendered.
assistant_checks() {
    local base=$1 token code host
    if [[ -z $flow_email ]]; then
        fail "assistant checks not run: the account of the app flow was not created"
        return 1
    fi
    if ! token=$(api_login "$base"); then
        fail "backend: signing in at /api/auth/login with the app flow's account"
        return 1
    fi
    code=$(chat "$base" "$token" "what's pending")
    check "backend: POST /api/chat is answered by the offline assistant (got $code, $(jq -c '{offline, reply: (.reply // "" | .[:40])}' "$work/chat.json" 2>/dev/null))" \
        chat_is_offline "$code"
    # Names a client in the cluster uses, as rendered into MCP_ALLOWED_HOSTS.
    for host in "$backend_service:$backend_service_port" "$backend_service.taskflow.svc.cluster.local:$backend_service_port" "localhost:$backend_target_port"; do
        code=$(mcp_status "$base" "$token" "$host")
        check "backend: /mcp answers tools/list for Host $host (got $code)" mcp_lists_tools "$code"
    done
    code=$(mcp_status "$base" "$token" "attacker.example:$backend_service_port")
    check "backend: /mcp refuses Host attacker.example with 403 (got $code)" test "$code" = 403
}

# The fake OpenAI-compatible provider: answers every POST to /v1/chat/completions with
# a fixed reply and records the request (path, Authorization header, body) as one JSON
# line. Arguments: port, log file. Listens on 127.0.0.1 only.
fake_provider_py='
import http.server, json, sys
port, log = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "authorization": self.headers.get("Authorization"),
                                "body": json.loads(body or b"null")}) + "\n")
        if self.path != "/v1/chat/completions":
            self.send_response(404); self.end_headers(); return
        out = json.dumps({"id": "chatcmpl-contract", "object": "chat.completion", "choices": [
            {"index": 0, "finish_reason": "stop",
             "message": {"role": "assistant", "content": "Answer from the fake provider."}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
'

provider_saw_key() {
    jq -se --arg auth "Bearer $1" --arg model "$2" \
        'length >= 1 and all(.[]; .path == "/v1/chat/completions" and .authorization == $auth and .body.model == $model)' \
        "$work/provider.log" >/dev/null 2>&1
}

chat_from_provider() {
    [[ $1 == 200 ]] && jq -e '.offline == false and .reply == "Answer from the fake provider."' "$work/chat.json" >/dev/null
}

# The backend from the rendering with an API key, against the fake provider.
llm_run() {
    local -a lenv
    local db_url parts key model pid provider_pid code token
    load_env backend-llm lenv
    key=$(get_env lenv LLM_API_KEY) || {
        fail "the rendering with llm.apiKey gives the backend no LLM_API_KEY"
        return 1
    }
    check "the rendering with llm.apiKey passes exactly that key as LLM_API_KEY (from its Secret)" \
        test "$key" = "$llm_key"
    check "the rendering with llm.apiKey sets LLM_BASE_URL to llm.baseUrl" \
        test "$(get_env lenv LLM_BASE_URL)" = "http://127.0.0.1:$fake_port/v1"
    model=$(get_env lenv LLM_MODEL) || model=""
    db_url=$(get_env lenv DATABASE_URL) || die "the backend pod has no DATABASE_URL"
    mapfile -t parts < <(parse_db_url "$db_url") || true
    if [[ ${#parts[@]} -ne 6 ]]; then
        fail "DATABASE_URL of the rendering with a key has the form postgres://user:password@host:port/database"
        return 1
    fi
    # A second rendering is a second install: its own generated database password.
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -v user="$(urldecode "${parts[1]}")" -v pw="$(urldecode "${parts[2]}")" <<'SQL' >/dev/null || {
ALTER ROLE :"user" PASSWORD :'pw';
SQL
        fail "setting the second rendering's database password"
        return 1
    }
    set_env lenv DATABASE_URL "${parts[0]}://${parts[1]}:${parts[2]}@$(urlencode "$PGHOST"):${parts[4]}/${parts[5]}"
    set_env lenv HTTP_HOST 127.0.0.1

    : >"$work/provider.log"
    python3 -c "$fake_provider_py" "$fake_port" "$work/provider.log" >"$work/provider.out" 2>&1 &
    provider_pid=$!
    pids+=("$provider_pid")
    local waited=0
    until port_in_use "$fake_port"; do
        if ((waited >= 50)); then
            fail "the fake provider did not listen on 127.0.0.1:$fake_port: $(cat "$work/provider.out")"
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done

    local -a bargs
    mapfile -t bargs < <(spec backend-llm '.args[]')
    env -i "${lenv[@]}" "$bin_dir/taskflow-backend" "${bargs[@]}" >"$work/backend-llm.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    if run_probe backend-llm startup && run_probe backend-llm readiness; then
        if token=$(api_login "http://127.0.0.1:$(spec backend-llm '.port')"); then
            code=$(chat "http://127.0.0.1:$(spec backend-llm '.port')" "$token" "what's pending")
            check "backend with a key: POST /api/chat is answered by the provider at llm.baseUrl (got $code, $(jq -c '{offline, reply}' "$work/chat.json" 2>/dev/null))" \
                chat_from_provider "$code"
            check "the provider received the rendered key as 'Authorization: Bearer <key>' and the rendered model ($model)" \
                provider_saw_key "$key" "$model"
        else
            fail "backend with a key: signing in at /api/auth/login"
        fi
    fi
    stop_within "taskflow-backend (with a key)" "$pid" "$(spec backend-llm '.grace - .preStop')" || true
    kill "$provider_pid" 2>/dev/null || true
    wait "$provider_pid" 2>/dev/null || true
    pids=()
    if grep -q '^fail' "$results"; then
        echo "--- last lines of the backend log (with a key) ---" >&2
        tail -n 20 "$work/backend-llm.log" >&2 || true
    fi
}

inner_main() {
    work=$1
    results=$work/results
    # shellcheck disable=SC1091
    source "$work/settings"
    trap 'stop_all' EXIT

    local -a benv fenv
    load_env backend benv
    load_env frontend fenv

    # --- Database: role and database from the rendered DATABASE_URL ---
    local db_url parts scheme user password host port database
    db_url=$(get_env benv DATABASE_URL) || die "the backend pod has no DATABASE_URL"
    mapfile -t parts < <(parse_db_url "$db_url") ||
        true
    if [[ ${#parts[@]} -ne 6 ]]; then
        fail "DATABASE_URL has the form postgres://user:password@host:port/database"
        return 1
    fi
    scheme=${parts[0]} user=$(urldecode "${parts[1]}") password=$(urldecode "${parts[2]}")
    host=${parts[3]} port=${parts[4]} database=$(urldecode "${parts[5]}")
    check "DATABASE_URL names the rendered PostgreSQL Service ($pg_service:$pg_service_port)" \
        test "$host:$port" = "$pg_service:$pg_service_port"
    check "the PostgreSQL Service targets the server's port 5432, where the local server listens too" \
        test "$pg_target_port" = 5432
    check "DATABASE_URL's user, password and database are those the PostgreSQL pod initialises" \
        test "$user/$password/$database" = "$pg_user/$pg_password/$pg_db"

    psql -X -q -v ON_ERROR_STOP=1 -d postgres -v user="$user" -v pw="$password" -v db="$database" <<'SQL' || {
CREATE ROLE :"user" LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER :"user";
SQL
        fail "creating role and database in the local PostgreSQL"
        return 1
    }
    # Make the server check the password for this role (the throwaway server trusts
    # everyone otherwise), then reload its configuration.
    local hba=$PGHOST/data/pg_hba.conf
    {
        printf 'local %s %s scram-sha-256\n' "$database" "$user"
        cat "$hba"
    } >"$hba.new" && cat "$hba.new" >"$hba" && rm -f "$hba.new"
    psql -X -q -d postgres -c 'SELECT pg_reload_conf()' >/dev/null
    check "the local server refuses a wrong password for the rendered role" \
        bash -c "! PGPASSWORD=wrong psql -X -q -w -U '$user' -d '$database' -c 'SELECT 1' >/dev/null 2>&1"
    check "the rendered password opens the rendered database" \
        bash -c "PGPASSWORD='$password' psql -X -q -w -U '$user' -d '$database' -c 'SELECT 1' >/dev/null"

    set_env benv DATABASE_URL "$scheme://${parts[1]}:${parts[2]}@$(urlencode "$PGHOST"):$port/${parts[5]}"
    set_env benv HTTP_HOST 127.0.0.1

    # --- Frontend: BACKEND_URL must name the backend Service ---
    local backend_url bparts
    backend_url=$(get_env fenv BACKEND_URL) || die "the frontend pod has no BACKEND_URL"
    mapfile -t bparts < <(parse_http_url "$backend_url") || true
    check "BACKEND_URL ($backend_url) names the rendered backend Service ($backend_service:$backend_service_port)" \
        test "${bparts[0]:-}:${bparts[1]:-}" = "$backend_service:$backend_service_port"
    set_env fenv BACKEND_URL "http://127.0.0.1:$backend_target_port"
    set_env fenv HTTP_HOST 127.0.0.1
    public_origin=$(get_env fenv PUBLIC_ORIGIN || true)

    # --- Ports as rendered ---
    local c p ok=1
    for c in backend frontend; do
        p=$(spec "$c" '.port')
        if port_in_use "$p"; then
            fail "port $p (the $c's rendered containerPort) is already in use on 127.0.0.1; stop whatever listens there and run again"
            ok=0
        fi
    done
    ((ok)) || return 1

    # --- Start both, as the kubelet would: env -i, rendered arguments ---
    local -a bargs fargs
    mapfile -t bargs < <(spec backend '.args[]')
    mapfile -t fargs < <(spec frontend '.args[]')
    env -i "${benv[@]}" "$bin_dir/taskflow-backend" "${bargs[@]}" >"$work/backend.log" 2>&1 &
    backend_pid=$!
    pids+=("$backend_pid")
    env -i "${fenv[@]}" "$bin_dir/taskflow-frontend" "${fargs[@]}" >"$work/frontend.log" 2>&1 &
    frontend_pid=$!
    pids+=("$frontend_pid")
    echo "started taskflow-backend ${bargs[*]} (pid $backend_pid) and taskflow-frontend ${fargs[*]} (pid $frontend_pid)"

    local kind
    for c in backend frontend; do
        if run_probe "$c" startup; then
            run_probe "$c" liveness || true
            run_probe "$c" readiness || true
        else
            # The kubelet would restart the container; later probes would never run.
            for kind in liveness readiness; do
                fail "$c $kind probe not reached: the startup probe failed"
            done
        fi
    done

    # --- The helm test pod's commands, Service addresses rewritten ---
    local url tparts target
    while IFS= read -r url; do
        mapfile -t tparts < <(parse_http_url "$url") || true
        case ${tparts[0]:-}:${tparts[1]:-} in
            "$backend_service:$backend_service_port") target=$backend_target_port ;;
            "$frontend_service:$frontend_service_port") target=$frontend_target_port ;;
            *)
                fail "helm test URL $url names no rendered Service"
                continue
                ;;
        esac
        check "helm test command 'probe $url' succeeds (as probe http://127.0.0.1:$target${tparts[2]:-})" \
            env -i "$bin_dir/taskflow-backend" probe "http://127.0.0.1:$target${tparts[2]:-}"
    done < <(jq -r '.[]' "$work/test-urls.json")

    # --- The app, through the frontend ---
    app_flow "http://127.0.0.1:$(spec frontend '.port')" || true

    # --- The assistant as rendered: offline, and /mcp's allowed hosts ---
    if get_env benv LLM_API_KEY >/dev/null; then
        fail "backend: the rendering sets LLM_API_KEY although the values give no key"
    else
        pass "backend: the rendering sets no LLM_API_KEY (the values give no key)"
    fi
    assistant_checks "http://127.0.0.1:$(spec backend '.port')" || true

    # --- Graceful stop within the grace period ---
    stop_within taskflow-frontend "$frontend_pid" "$(spec frontend '.grace - .preStop')" || true
    stop_within taskflow-backend "$backend_pid" "$(spec backend '.grace - .preStop')" || true
    pids=()
    if grep -q '^fail' "$results"; then
        for c in backend frontend; do
            echo "--- last lines of the $c log ---" >&2
            tail -n 20 "$work/$c.log" >&2 || true
        done
    fi

    # --- The assistant with a key, against a fake provider on 127.0.0.1 ---
    llm_run || true
}

if [[ -n $inner ]]; then
    inner_main "$inner"
    exit 0
fi

# --- Phase 1: render and extract ---------------------------------------------------

missing=()
for tool in helm jq yq curl psql python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    die "missing tools: ${missing[*]}. Install helm (see docs/deployment.md or the chart README), and on Debian: apt-get install jq yq curl postgresql-client python3"
fi
[[ -f $values ]] || die "values file not found: $values"

if [[ -z $bin_dir ]]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target}"
    bin_dir=$CARGO_TARGET_DIR/debug
    if ((build)); then
        echo "==> cargo build -p taskflow-backend -p taskflow-frontend"
        (cd "$root" && cargo build --locked -p taskflow-backend -p taskflow-frontend) ||
            die "cargo build failed"
    fi
fi
for b in taskflow-backend taskflow-frontend; do
    [[ -x $bin_dir/$b ]] || die "$bin_dir/$b not found; build it (cargo build -p $b) or pass --bin-dir"
done

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
results=$work/results
: >"$results"

summary() {
    local passed failed
    passed=$(grep -c '^pass' "$results" || true)
    failed=$(grep -c '^fail' "$results" || true)
    echo "$passed passed, $failed failed"
    ((failed == 0))
}

echo "==> helm template taskflow helm -n taskflow -f ${values#"$root"/}"
if ! helm template taskflow "$root/helm" --namespace taskflow -f "$values" >"$work/render.yaml" 2>"$work/helm.err"; then
    cat "$work/helm.err" >&2
    fail "the chart renders with ${values#"$root"/}"
    summary
    exit 1
fi
pass "the chart renders with ${values#"$root"/}"
yq -s 'map(select(. != null))' "$work/render.yaml" >"$work/render.json"

# Extracts one component's container as a small JSON document: port, args, probes
# (ports resolved to numbers, kubelet defaults filled in), grace period, preStop pause
# and the environment exactly as the kubelet would assemble it (envFrom first, env
# entries override). Anything this test cannot reproduce is an error, not a skip.
extract() {
    jq --arg c "$1" '
      . as $docs
      | def cm($n): ([$docs[] | select(.kind == "ConfigMap" and .metadata.name == $n)] | first
            // error("ConfigMap \($n) is referenced but not rendered")) | (.data // {});
        def secret($n): ([$docs[] | select(.kind == "Secret" and .metadata.name == $n)] | first
            // error("Secret \($n) is referenced but not rendered")) as $s
          | (($s.data // {}) | map_values(@base64d)) + ($s.stringData // {});
        def need($obj; $k; $what): if $obj | has($k) then $obj[$k] else error("\($what): key \($k) missing") end;
      [ $docs[] | select(.kind == "Deployment" and .metadata.labels["app.kubernetes.io/component"] == $c) ]
      | if length != 1 then error("expected one \($c) Deployment, found \(length)") else first end
      | .spec.template.spec as $pod
      | if ($pod.containers | length) != 1 then error("\($c): expected one container") else . end
      | $pod.containers[0] as $k
      | if $k.command then error("\($c): command is set; the image entrypoint is expected to be the binary") else . end
      | ([$k.ports[] | {key: .name, value: .containerPort}] | from_entries) as $ports
      | def portnum($p): if ($p | type) == "number" then $p else ($ports[$p] // error("\($c): unknown port \($p)")) end;
        def probe($p): if $p == null then error("\($c): a probe is missing") else . end
          | if $p.httpGet == null then error("\($c): only httpGet probes can be replayed") else . end
          | if ($p.httpGet.host // "") != "" or ($p.httpGet.scheme // "HTTP") != "HTTP" then error("\($c): probe host/scheme not supported") else . end
          | {path: $p.httpGet.path, port: portnum($p.httpGet.port),
             initialDelaySeconds: ($p.initialDelaySeconds // 0), periodSeconds: ($p.periodSeconds // 10),
             timeoutSeconds: ($p.timeoutSeconds // 1), failureThreshold: ($p.failureThreshold // 3),
             successThreshold: ($p.successThreshold // 1)};
      {
        port: $ports.http,
        args: ($k.args // []),
        grace: ($pod.terminationGracePeriodSeconds // 30),
        preStop: ($k.lifecycle.preStop.sleep.seconds // 0),
        probes: {startup: probe($k.startupProbe), liveness: probe($k.livenessProbe), readiness: probe($k.readinessProbe)},
        env: (
          ( [ ($k.envFrom // [])[]
              | if .configMapRef then cm(.configMapRef.name)
                elif .secretRef then secret(.secretRef.name)
                else error("\($c): unsupported envFrom entry") end
              | to_entries[] ] | from_entries )
          + ( [ ($k.env // [])[]
                | {key: .name, value:
                    (if has("value") then .value
                     elif .valueFrom.secretKeyRef then need(secret(.valueFrom.secretKeyRef.name); .valueFrom.secretKeyRef.key; "Secret \(.valueFrom.secretKeyRef.name)")
                     elif .valueFrom.configMapKeyRef then need(cm(.valueFrom.configMapKeyRef.name); .valueFrom.configMapKeyRef.key; "ConfigMap \(.valueFrom.configMapKeyRef.name)")
                     else error("\($c): env \(.name) uses an unsupported source") end)} ]
              | from_entries ) )
      }
      | if ([.env[] | select(test("\\$\\("))] | length) > 0 then error("\($c): $(VAR) references are not supported") else . end
    ' "${2:-$work/render.json}"
}

# Service name, port and target container port of a component: "name port target".
service_of() {
    jq -r --arg c "$1" --arg kind "$2" '
      . as $docs
      | [ $docs[] | select(.kind == "Service" and .metadata.labels["app.kubernetes.io/component"] == $c and (.spec.clusterIP // "") != "None") ] | first
      | . as $svc
      | [ $docs[] | select(.kind == $kind and .metadata.labels["app.kubernetes.io/component"] == $c) ] | first
      | .spec.template.spec.containers[0].ports as $ports
      | ($svc.spec.ports[0].targetPort) as $t
      | "\($svc.metadata.name) \($svc.spec.ports[0].port) \(if ($t | type) == "number" then $t else ([$ports[] | select(.name == $t) | .containerPort] | first) end)"
    ' "$work/render.json"
}

ok=1
for c in backend frontend; do
    if extract "$c" >"$work/$c.json" 2>"$work/jq.err"; then
        pass "$c: container spec, probes and environment extracted from the rendering"
    else
        fail "$c: extracting the container spec: $(cat "$work/jq.err")"
        ok=0
    fi
done
if ((!ok)); then
    summary
    exit 1
fi
for c in backend frontend; do
    check "$c: HTTP_PORT in the pod's environment equals the containerPort the probes use" \
        test "$(jq -r '.env.HTTP_PORT' "$work/$c.json")" = "$(jq -r '.port' "$work/$c.json")"
done

# The same values with an API key and a provider on 127.0.0.1 (a fake one, started in
# phase 2 on a port that is free now).
fake_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
llm_key="sk-contract-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
echo "==> helm template taskflow helm -n taskflow -f ${values#"$root"/} --set llm.apiKey=<random> --set llm.baseUrl=http://127.0.0.1:$fake_port/v1"
if helm template taskflow "$root/helm" --namespace taskflow -f "$values" --set "llm.apiKey=$llm_key" \
    --set "llm.baseUrl=http://127.0.0.1:$fake_port/v1" >"$work/render-llm.yaml" 2>"$work/helm.err" &&
    yq -s 'map(select(. != null))' "$work/render-llm.yaml" >"$work/render-llm.json" &&
    extract backend "$work/render-llm.json" >"$work/backend-llm.json" 2>"$work/jq.err"; then
    pass "backend: container spec and environment extracted from the rendering with llm.apiKey"
else
    fail "the chart renders with llm.apiKey and its backend spec can be extracted: $(cat "$work/helm.err" "$work/jq.err" 2>/dev/null)"
    summary
    exit 1
fi
jq -c '[.[] | select(.kind == "Pod" and .metadata.annotations["helm.sh/hook"] == "test")
        | .spec.containers[] | if .args[0] == "probe" then .args[1] else error("test container \(.name) does not run probe") end]' \
    "$work/render.json" >"$work/test-urls.json"
check "the helm test pod runs 'probe <url>' against both services" \
    test "$(jq length "$work/test-urls.json")" -ge 2

read -r backend_service backend_service_port backend_target_port < <(service_of backend Deployment)
read -r frontend_service frontend_service_port frontend_target_port < <(service_of frontend Deployment)
read -r pg_service pg_service_port pg_target_port < <(service_of postgresql StatefulSet)
# What the PostgreSQL pod initialises: user, database and the password from the file
# its POSTGRES_PASSWORD_FILE names, resolved through the volume to the rendered Secret.
if ! jq -r '
  . as $docs
  | [ $docs[] | select(.kind == "StatefulSet" and .metadata.labels["app.kubernetes.io/component"] == "postgresql") ]
  | first // error("no PostgreSQL StatefulSet rendered (this test needs postgresql.enabled)")
  | .spec.template.spec as $pod
  | $pod.containers[0] as $k
  | ([$k.env[] | {key: .name, value: .value}] | from_entries) as $env
  | ($env.POSTGRES_PASSWORD_FILE // error("POSTGRES_PASSWORD_FILE not set")) as $file
  | ([$k.volumeMounts[] | select(.mountPath as $m | $file | startswith($m + "/"))] | first
      // error("no volume is mounted where POSTGRES_PASSWORD_FILE points")) as $mount
  | ([$pod.volumes[] | select(.name == $mount.name)] | first | .secret
      // error("POSTGRES_PASSWORD_FILE is not on a Secret volume")) as $vol
  | ($file | ltrimstr($mount.mountPath + "/")) as $path
  | ([$vol.items[] | select(.path == $path) | .key] | first // $path) as $key
  | ([$docs[] | select(.kind == "Secret" and .metadata.name == $vol.secretName)] | first
      // error("Secret \($vol.secretName) is not rendered")) as $secret
  | ((($secret.data // {}) | map_values(@base64d)) + ($secret.stringData // {}))[$key]
      // error("Secret \($vol.secretName) has no key \($key)")
  | [($env.POSTGRES_USER // "taskflow"), ($env.POSTGRES_DB // "taskflow"), .] | @sh "pg_user=\(.[0]) pg_db=\(.[1]) pg_password=\(.[2])"
' "$work/render.json" >"$work/pg.sh" 2>"$work/jq.err"; then
    fail "PostgreSQL pod: user, database and password resolved from the rendering: $(cat "$work/jq.err")"
    summary
    exit 1
fi
pass "PostgreSQL pod: user, database and password resolved from the rendering"
# shellcheck disable=SC1091
source "$work/pg.sh"
{
    declare -p bin_dir backend_service backend_service_port backend_target_port
    declare -p frontend_service frontend_service_port frontend_target_port
    declare -p pg_service pg_service_port pg_target_port pg_user pg_db pg_password
    declare -p fake_port llm_key
} >"$work/settings"

echo "==> scripts/with-postgres.sh $prog --inner ..."
status=0
"$root/scripts/with-postgres.sh" "${BASH_SOURCE[0]}" --inner "$work" || status=$?
if ((status != 0)); then
    fail "the run against PostgreSQL ended with status $status"
fi
summary
