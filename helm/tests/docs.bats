#!/usr/bin/env bats
#
# The deployment documents agree with the chart: every value key they mention exists,
# and every relative link and anchor resolves.

# Variables such as repo_root come from helpers.bash.
# shellcheck disable=SC2154
load helpers

docs() {
    printf '%s\n' "$repo_root/docs/deployment.md" "$repo_root/docs/secrets.md" \
        "$repo_root/docs/troubleshooting.md" "$repo_root/docs/assistant.md" "$chart_dir/README.md"
}

@test "docs: every chart value the documents name exists in values.yaml" {
    local doc key missing=()
    while IFS= read -r doc; do
        [ -f "$doc" ] || fail_with "$doc is missing"
        # `backend.image.tag`, `postgresql.persistence.size`, ... and --set key=value.
        while IFS= read -r key; do
            key=${key%%=*}
            # Wildcards (`*.extraEnv`), the user's own extraEnv names and file names.
            [[ $key == *'*'* || $key == *.extraEnv.* || $key == *.tar ]] && continue
            yq -e "getpath(\"$key\" | split(\".\")) != null" "$chart_dir/values.yaml" >/dev/null 2>&1 ||
                missing+=("${doc#"$repo_root"/}: $key")
        done < <(grep -oE '(`|--set(-string)? )(nameOverride|fullnameOverride|existingSecret|serviceAccount|podSecurityContext|containerSecurityContext|tmpSizeLimit|clusterDomain|backend|frontend|ingress|postgresql|externalDatabase|llm|networkPolicy|tests)\.[A-Za-z0-9_.*]+' "$doc" |
            sed -E 's/^(`|--set(-string)? )//' | sort -u)
    done < <(docs)
    [ ${#missing[@]} -eq 0 ] || fail_with "unknown value keys:" "${missing[@]}"
}

@test "docs: relative links and their anchors resolve" {
    local -a files
    mapfile -t files < <(docs)
    run python3 - "$repo_root" "${files[@]}" <<'PY'
import os, re, sys
root, files = sys.argv[1], sys.argv[2:]
def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")
def anchors(path):
    with open(path, encoding="utf-8") as f:
        return {slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", f.read(), re.M)}
bad = []
for doc in files:
    text = open(doc, encoding="utf-8").read()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
        if not os.path.exists(full):
            bad.append(f"{os.path.relpath(doc, root)}: {target} (no such file)")
        elif anchor and full.endswith(".md") and anchor not in anchors(full):
            bad.append(f"{os.path.relpath(doc, root)}: {target} (no such heading)")
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
PY
    [ "$status" -eq 0 ] || fail_with "$output"
}
