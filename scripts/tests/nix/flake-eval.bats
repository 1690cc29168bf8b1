#!/usr/bin/env bats
#
# Evaluates flake.nix and nix/*.nix with stand-in inputs (flake-eval.nix, stubs/), without
# nixpkgs or any download, and checks the wiring: the outputs and their names, the apps'
# shape, the image configurations against nix/contract.json, the deploy app's inputs, the
# static build, the checks. Needs nix-instantiate (Debian: apt-get install nix-bin) and jq.
#
# The jq programs are in single quotes on purpose: $names are jq variables.
# shellcheck disable=SC2016

setup_file() {
    local root="$BATS_TEST_DIRNAME/../../.."
    export EVAL_JSON="$BATS_FILE_TMPDIR/eval.json"
    export CONTRACT="$root/nix/contract.json"
    if ! command -v nix-instantiate >/dev/null; then
        echo "nix-instantiate not found; install it: apt-get install nix-bin" >&2
        return 1
    fi
    nix-instantiate --readonly-mode --eval --strict --json "$BATS_TEST_DIRNAME/flake-eval.nix" >"$EVAL_JSON"
}

# q FILTER [jq args...]: the filter's output (raw) on the evaluation.
q() {
    local filter=$1
    shift
    jq -r "$@" "$filter" "$EVAL_JSON"
}

# is_true FILTER [jq args...]: the filter yields true; shows the data otherwise.
is_true() {
    local result
    result=$(q "$@")
    if [[ $result != true ]]; then
        echo "not true: $1" >&2
        return 1
    fi
}

# built_text APP: nix/apps/APP.sh as nix/apps.nix builds it: without its shebang, and with
# nix/apps/lib.sh, less its first line (a shellcheck directive), in place of the six lines
# that source the library (from the comment that starts them to the `source` line).
built_text() {
    local root="$BATS_TEST_DIRNAME/../../.." start
    local app="$root/nix/apps/$1.sh" lib="$root/nix/apps/lib.sh"
    start=$(grep -n '^# The functions the apps share' "$app" | cut -d: -f1)
    [[ -n $start ]] || return 1
    [ "$(sed -n "$((start + 5))p" "$app")" = 'source "$lib_dir/lib.sh"' ] || return 1
    sed -n "2,$((start - 1))p" "$app"
    tail -n +2 "$lib"
    tail -n +$((start + 6)) "$app"
}

@test "the flake has exactly the outputs of the design (no unknown outputs)" {
    [ "$(q '.outputNames | join(" ")')" = "apps checks devShells formatter packages" ]
}

@test "packages exist for Linux systems only, with the names of the design" {
    [ "$(q '.packages | keys | join(" ")')" = "aarch64-linux x86_64-linux" ]
    is_true '[.packages[]] | all(. == ["backend", "backend-image", "backend-image-tar", "chart", "default", "frontend", "frontend-image", "frontend-image-tar", "postgres-image", "postgres-image-tar", "vm-test"])'
    [ "$(q '.binaries.default')" = "taskflow-backend-0.1.0" ]
    [ "$(q '.binaries.backendMainProgram')" = "taskflow-backend" ]
}

@test "apps: deploy (also default), undeploy and the operations apps everywhere, local on Linux, only type/program/meta" {
    [ "$(q '.apps | keys | join(" ")')" = "aarch64-darwin aarch64-linux x86_64-darwin x86_64-linux" ]
    local everywhere='["backup", "default", "deploy", "doctor", "images", "logs", "restore", "rollback", "set-secret", "status", "undeploy"]'
    is_true '[.apps["x86_64-darwin", "aarch64-darwin"] | keys == $c] | all' --argjson c "$everywhere"
    is_true '[.apps["x86_64-linux", "aarch64-linux"] | keys == ($c + ["local"] | sort)] | all' --argjson c "$everywhere"
    is_true '[.apps["x86_64-linux", "aarch64-linux"] | .local.program | endswith("/bin/taskflow-local")] | all'
    is_true '[.apps[][] | .keys == ["meta", "program", "type"] and .type == "app" and (.description | length > 10)] | all'
    is_true '[.apps[] | .default.program == .deploy.program and (.deploy.program | endswith("/bin/taskflow-deploy")) and (.undeploy.program | endswith("/bin/taskflow-undeploy"))] | all'
}

@test "dev shell and formatter on every system; the shell has the tools, kubectl before minikube" {
    is_true '[.devShells[]] | all(. == ["default"])'
    is_true '([.formatter[]] | all(. == "nixpkgs-fmt")) and (.formatter | length) == 4'
    is_true '.devShell.packages as $p | ($p | index("kubectl")) < ($p | index("minikube-bin-1.38.1"))'
    local tool
    for tool in kubernetes-helm postgresql_17 cargo-nextest diesel-cli kubernetes-validate; do
        is_true '.devShell.packages | index($t) != null' --arg t "$tool"
    done
    [[ $(q '.devShell.shellHook') == *"nix run .#deploy"* ]]
}

@test "checks: Rust, chart, scripts everywhere; tests, images and deploy script on Linux only" {
    local common='["app-scripts", "app-tests", "chart", "clippy", "deny", "fmt", "shellcheck", "undeploy-script"]'
    is_true '.checks["aarch64-darwin"] == $c and .checks["x86_64-darwin"] == $c' --argjson c "$common"
    is_true '.checks["x86_64-linux"] == ($c + ["backend", "deploy-script", "frontend", "images", "images-script", "local-script", "nextest", "postgres-entrypoint", "status-script"] | sort)' --argjson c "$common"
}

@test "nixpkgs gets the rust-overlay overlay; the toolchain comes from rust-toolchain.toml with the host's musl target" {
    [ "$(q '.overlays | join(" ")')" = "rust-overlay" ]
    is_true '.toolchain | [.[] | .file | endswith("/rust-toolchain.toml")] | all'
    is_true '.toolchain["x86_64-linux"].targets == ["x86_64-unknown-linux-musl"]'
    is_true '.toolchain["aarch64-linux"].targets == ["aarch64-unknown-linux-musl"]'
    is_true '.toolchain["aarch64-darwin"] | has("targets") | not'
}

@test "static binaries: one locked, test-free musl build of both services, one copy per package" {
    is_true '.static["x86_64-linux"] | .CARGO_BUILD_TARGET == "x86_64-unknown-linux-musl" and .CARGO_BUILD_RUSTFLAGS == "-C target-feature=+crt-static" and .doCheck == false and .strictDeps == true'
    is_true '.static["aarch64-linux"].CARGO_BUILD_TARGET == "aarch64-unknown-linux-musl"'
    [ "$(q '.static["x86_64-linux"].cargoExtraArgs')" = "--locked -p taskflow-backend -p taskflow-frontend" ]
    [[ $(q '.binaries.backend') == *"-taskflow-static/bin/taskflow-backend \"\$out/bin/taskflow-backend\""* ]]
    [[ $(q '.binaries.frontend') == *"-taskflow-static/bin/taskflow-frontend \"\$out/bin/taskflow-frontend\""* ]]
}

@test "the build sources list migrations, templates, static files and common/" {
    local dir
    for dir in common backend/migrations backend/templates frontend/templates frontend/static; do
        is_true '.src.fileset.unions | map(select(type == "string")) | any(endswith("/" + $d))' --arg d "$dir"
    done
    is_true '.src.fileset.unions | any(type == "object" and has("commonCargoSources"))'
    # The tests read README.md, docs/ and scripts/: they get the whole tree.
    is_true '.testSrc.fileset == .testSrc.root'
}

@test "service images: configuration equals contract.json" {
    local component
    for component in backend frontend; do
        is_true '
            $contract[0] as $k | $k.images[$c] as $s | .images[$c] as $i
            | $i.name == $s.name and $i.tag == null
            and $i.config.User == "\($k.user.uid):\($k.user.gid)"
            and $i.config.Entrypoint == ["/bin/" + $s.binary]
            and $i.config.Cmd == $s.args
            and $i.config.ExposedPorts == {("\($s.port)/tcp"): {}}
            and $i.config.Env == ([$s.env | to_entries[] | "\(.key)=\(.value)"] + ["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"] | sort)
            and ($i.config.Labels | contains($k.labels))
            and $i.config.Labels["org.opencontainers.image.title"] == $s.name
            and ($i.config | has("StopSignal") | not)
            and $i.extraCommands == "mkdir -m 1777 tmp"
            and $i.contents == ["fakeNss", "ca-certificates", "\($s.binary)-0.1.0"]' \
            --slurpfile contract "$CONTRACT" --arg c "$component"
    done
}

@test "postgres image: configuration equals contract.json, StopSignal SIGINT, the entrypoint on PATH" {
    is_true '
        $contract[0] as $k | $k.images.postgres as $s | .images.postgres as $i
        | $i.name == $s.name and $i.tag == null
        and $i.config.User == "\($k.user.uid):\($k.user.gid)"
        and $i.config.Entrypoint == ["/bin/taskflow-postgres-entrypoint"]
        and $i.config.ExposedPorts == {("\($s.port)/tcp"): {}}
        and $i.config.StopSignal == $s.stopSignal
        and $i.config.Env == (["PATH=/bin"] + [$s.env | to_entries[] | "\(.key)=\(.value)"] | sort)
        and ($i.config.Labels | contains($k.labels))
        and $i.contents == ["fakeNss", "taskflow-postgres-bin"]' \
        --slurpfile contract "$CONTRACT"
    [ "$(q '.entrypoint.name')" = "taskflow-postgres-entrypoint" ]
    [ "$(q '.entrypoint.runtimeInputs | join(" ")')" = "postgresql_17 coreutils" ]
    # writeShellApplication writes its own shebang: the file's is dropped.
    [[ $(q '.entrypoint.text') != "#!"* ]]
    [[ $(q '.entrypoint.text') == *'postgres -D "$PGDATA"'* ]]
}

@test "image archives: uncompressed stream output named <name>-<tag>.tar, with imageName and imageTag" {
    local key
    for key in backend frontend postgres; do
        is_true '.tars[$k + "-image-tar"] | .name == "\(.imageName)-\(.imageTag).tar" and .imageName == "taskflow-" + $k and (.script | test("-stream-taskflow-\($k) > \"\\$out\"\n$"))' --arg k "$key"
    done
}

@test "deploy app: content-hash image references, archives, chart and Minikube values injected" {
    is_true '.deploy.script.runtimeEnv | keys == ["TASKFLOW_BACKEND_IMAGE", "TASKFLOW_BACKEND_IMAGE_TAR", "TASKFLOW_CHART", "TASKFLOW_FRONTEND_IMAGE", "TASKFLOW_FRONTEND_IMAGE_TAR", "TASKFLOW_POSTGRES_IMAGE", "TASKFLOW_POSTGRES_IMAGE_TAR", "TASKFLOW_VALUES"]'
    local key
    for key in backend frontend postgres; do
        is_true '.deploy.script.runtimeEnv as $e | .images[$k] as $i | .tars[$k + "-image-tar"] as $t
            | $e["TASKFLOW_\($k | ascii_upcase)_IMAGE"] == "\($i.imageName):\($i.imageTag)"
            and ($e["TASKFLOW_\($k | ascii_upcase)_IMAGE_TAR"] | endswith("-" + $t.name))' --arg k "$key"
    done
    is_true '.deploy.script.runtimeEnv.TASKFLOW_CHART | endswith("-taskflow-chart/taskflow.tgz")'
    is_true '.deploy.script.runtimeEnv.TASKFLOW_VALUES | endswith("/ci/minikube-values.yaml")'
    [[ $(q '.deploy.script.text') != "#!"* ]]
    [[ $(q '.deploy.script.text') == *"helm_args=("* ]]
    # kubectl first: minikube's package would otherwise shadow it with its own symlink.
    # taskflow-doctor: deploy runs the doctor's checks first.
    [ "$(q '.deploy.inputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep taskflow-doctor" ]
    [ "$(q '.undeployInputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep" ]
}

@test "doctor, status, logs and images: the scripts of nix/apps/ with their tools and inputs" {
    local root="$BATS_TEST_DIRNAME/../../.." name
    for name in doctor status logs images; do
        is_true '[.apps[] | .[$n].program | endswith("/bin/taskflow-" + $n)] | all' --arg n "$name"
        is_true '.opsScripts[$n] | .name == "taskflow-" + $n and (.description | length > 20)' --arg n "$name"
    done
    # The doctor: the file as it is, without its shebang (writeShellApplication writes its
    # own); the others with the library they source in place (see built_text).
    [ "$(q '.opsScripts.doctor.text')" = "$(tail -n +2 "$root/nix/apps/doctor.sh")" ]
    for name in status logs images; do
        [ "$(q '.opsScripts[$n].text' --arg n "$name")" = "$(built_text "$name")" ]
    done
    # doctor: the cluster tools, and `free` (procps) on Linux only; no inputs from the build.
    [ "$(q '.opsScripts.doctor.inputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep procps" ]
    [ "$(q '.darwinDoctorInputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep" ]
    is_true '.opsScripts.doctor.runtimeEnv == {}'
    # status: jq, and deploy's image references but not the archives (it builds no image).
    [ "$(q '.opsScripts.status.inputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep jq" ]
    is_true '.opsScripts.status.runtimeEnv == (.deploy.script.runtimeEnv | with_entries(select(.key | endswith("_IMAGE"))))'
    is_true '.opsScripts.status.runtimeEnv | keys == ["TASKFLOW_BACKEND_IMAGE", "TASKFLOW_FRONTEND_IMAGE", "TASKFLOW_POSTGRES_IMAGE"]'
    [ "$(q '.opsScripts.logs.inputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep" ]
    is_true '.opsScripts.logs.runtimeEnv == {}'
    # images: tar and jq, and the references and archives deploy gets, so it builds them.
    [ "$(q '.opsScripts.images.inputs | join(" ")')" = "gnutar jq coreutils gnugrep" ]
    is_true '.opsScripts.images.runtimeEnv == (.deploy.script.runtimeEnv | with_entries(select(.key | test("_IMAGE(_TAR)?$"))))'
    is_true '.opsScripts.images.runtimeEnv | length == 6'
}

@test "set-secret, rollback, backup and restore: the scripts of nix/apps/ with their tools, no build inputs" {
    local root="$BATS_TEST_DIRNAME/../../.." name
    for name in set-secret rollback backup restore; do
        is_true '[.apps[] | .[$n].program | endswith("/bin/taskflow-" + $n)] | all' --arg n "$name"
        is_true '.opsScripts[$n] | .name == "taskflow-" + $n and (.description | length > 20)' --arg n "$name"
        [ "$(q '.opsScripts[$n].text' --arg n "$name")" = "$(built_text "$name")" ]
    done
    # Only set-secret gets a build input: the chart it applies a new LLM key with, the one deploy installs.
    for name in rollback backup restore; do
        is_true '.opsScripts[$n].runtimeEnv == {}' --arg n "$name"
    done
    is_true '.opsScripts["set-secret"].runtimeEnv | keys == ["TASKFLOW_CHART"]'
    is_true '.opsScripts["set-secret"].runtimeEnv.TASKFLOW_CHART == .deploy.script.runtimeEnv.TASKFLOW_CHART'
    # jq reads helm's and kubectl's JSON; pg_restore comes from the image's PostgreSQL.
    [ "$(q '.opsScripts["set-secret"].inputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep jq" ]
    [ "$(q '.opsScripts.rollback.inputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep jq" ]
    [ "$(q '.opsScripts.backup.inputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep postgresql_17" ]
    [ "$(q '.opsScripts.restore.inputs | join(" ")')" = "kubectl kubernetes-helm minikube-bin-1.38.1 coreutils gnugrep postgresql_17" ]
}

@test "apps that source nix/apps/lib.sh are built as single files with the library in place" {
    local name text
    # deploy and the doctor keep their own helpers (each also runs as a single file).
    [ "$(q '.deploy.script.text')" = "$(tail -n +2 "$BATS_TEST_DIRNAME/../../../nix/apps/deploy.sh")" ]
    [ "$(q '.undeployText')" = "$(built_text undeploy)" ]
    for name in undeploy status logs images set-secret rollback backup restore; do
        if [[ $name == undeploy ]]; then
            text=$(q '.undeployText')
        else
            text=$(q '.opsScripts[$n].text' --arg n "$name")
        fi
        [[ $text != *'source "$lib_dir/lib.sh"'* && $text != *"shellcheck shell=bash"* ]]
        [[ $text == *$'\nfail() {\n'* && $text == *$'\nneed_tools() {\n'* && $text == *$'\ncheck_cluster() {\n'* ]]
        [[ $text == *"prog=$name"$'\n'*"# lib.sh - the functions the apps of nix/apps/ share"* ]]
    done
}

@test "darwin's deploy app uses the Linux images of its CPU" {
    is_true '.darwinDeployEnv["aarch64-darwin"].TASKFLOW_BACKEND_IMAGE | startswith("taskflow-backend:")'
}

@test "nextest check: dev profile, PostgreSQL, scripts/with-postgres.sh, browser tests filtered out" {
    [ "$(q '.checkArgs.nextest.CARGO_PROFILE')" = dev ]
    [ "$(q '.checkArgs.nextest.inputs | join(" ")')" = postgresql_17 ]
    local phase
    phase=$(q '.checkArgs.nextest.checkPhase')
    [[ $phase == *"runHook preCheck"*"bash scripts/with-postgres.sh cargo nextest run --cargo-profile \"\$CARGO_PROFILE\""*"runHook postCheck"* ]]
    [[ $phase == *"--locked --workspace --no-fail-fast"* ]]
    [[ $phase == *"-E 'not (package(taskflow-frontend) & binary(browser))'"* ]]
    [ "$(q '.checkArgs.clippy.cargoClippyExtraArgs')" = "--workspace --all-targets -- --deny warnings" ]
    [ "$(q '.checkArgs.deny')" = "bans licenses sources" ]
}

@test "chart check covers the default values and every helm/ci/*-values.yaml" {
    local script file
    script=$(q '.checkArgs.chart')
    [[ $script == *'render "default values"'* ]]
    for file in "$BATS_TEST_DIRNAME"/../../../helm/ci/*-values.yaml; do
        [[ $script == *"-f /nix/store/00000000000000000000000000000000-source/ci/${file##*/}"* ]]
    done
    [[ $script == *"helm lint --strict"* && $script == *"kubernetes-validate --strict --quiet"* ]]
    [[ $(q '.chartPackage') == *"helm package"*"taskflow.tgz"* ]]
}

@test "images check runs the archive checker on all three archives with their tags" {
    local script
    script=$(q '.checkArgs.images')
    [[ $script == *"-image-archive.sh --contract"*"-contract.json"* ]]
    local key
    for key in backend frontend postgres; do
        [[ $script == *"check $key /nix/store/00000000000000000000000000000000-taskflow-$key-stubtagtaskflow-$key.tar stubtagtaskflow-$key"* ]]
    done
}

@test "the k3s VM test is a package, not a check" {
    [ "$(q '.vmTest')" = "vm-test-taskflow-k3s" ]
    is_true '[.checks[] | index("vm-test")] | all(. == null)'
}
