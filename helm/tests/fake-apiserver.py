#!/usr/bin/env python3
"""A minimal, read-only stand-in for the Kubernetes API server, for chart tests.

It answers just enough for `helm template --dry-run=server` (version, discovery,
empty lists) and serves the Secrets found in the JSON file given as argument, so
that the chart's `lookup` calls see them. Every other object is "not found". It
listens on 127.0.0.1 only and prints its port on the first line of stdout.

Usage: fake-apiserver.py SECRETS.json   (a JSON list of v1 Secret objects)
"""
import http.server
import json
import re
import sys

CORE = ["configmaps", "secrets", "services", "pods", "serviceaccounts",
        "persistentvolumeclaims", "namespaces"]
GROUPS = {
    "apps/v1": ["deployments", "statefulsets"],
    "policy/v1": ["poddisruptionbudgets"],
    "networking.k8s.io/v1": ["networkpolicies", "ingresses"],
    "autoscaling/v2": ["horizontalpodautoscalers"],
}


def kind_of(plural):
    names = {"configmaps": "ConfigMap", "secrets": "Secret", "services": "Service",
             "pods": "Pod", "serviceaccounts": "ServiceAccount",
             "persistentvolumeclaims": "PersistentVolumeClaim", "namespaces": "Namespace",
             "deployments": "Deployment", "statefulsets": "StatefulSet",
             "poddisruptionbudgets": "PodDisruptionBudget", "networkpolicies": "NetworkPolicy",
             "ingresses": "Ingress", "horizontalpodautoscalers": "HorizontalPodAutoscaler"}
    return names[plural]


def resource_list(group_version, plurals):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [{"name": p, "singularName": "", "namespaced": p != "namespaces",
                           "kind": kind_of(p), "verbs": ["get", "list"]} for p in plurals]}


class Handler(http.server.BaseHTTPRequestHandler):
    secrets = {}

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self):
        self.reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                         "reason": "NotFound", "code": 404, "message": "not found"})

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/version":
            return self.reply(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0",
                                    "platform": "linux/amd64"})
        if path == "/api":
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/api/v1":
            return self.reply(200, resource_list("v1", CORE))
        if path == "/apis":
            groups = []
            for gv in GROUPS:
                group, version = gv.split("/")
                entry = {"groupVersion": gv, "version": version}
                groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
            return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        match = re.fullmatch(r"/apis/([^/]+/[^/]+)", path)
        if match and match.group(1) in GROUPS:
            return self.reply(200, resource_list(match.group(1), GROUPS[match.group(1)]))
        match = re.fullmatch(r"/api/v1/namespaces/([^/]+)/secrets/([^/]+)", path)
        if match and match.groups() in self.secrets:
            return self.reply(200, self.secrets[match.groups()])
        match = re.fullmatch(r"(/api/v1|/apis/[^/]+/[^/]+)(/namespaces/[^/]+)?/([a-z]+)", path)
        if match:
            return self.reply(200, {"kind": kind_of(match.group(3)) + "List", "apiVersion": "v1",
                                    "metadata": {"resourceVersion": "1"}, "items": []})
        return self.not_found()

    def log_message(self, *args):
        pass


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        for secret in json.load(f):
            meta = secret["metadata"]
            Handler.secrets[(meta["namespace"], meta["name"])] = secret
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
