#!/usr/bin/env python3
"""SIGTERM under load, seen from the clients (used by scripts/fault-tests.sh).

Usage:
  inflight.py --port PORT --pid PID --kind backend|frontend --origin ORIGIN
              [--token TOKEN] [--email EMAIL --password PASSWORD]
              [--slow 20] [--hold 1.5] [--clients 4]

Against the service on 127.0.0.1:PORT (process PID):
  1. starts CLIENTS load loops, each on its own keep-alive connection, that request a normal
     page (backend: GET /api/tasks with the bearer token; frontend: GET /tasks with a session
     cookie obtained by signing in);
  2. opens SLOW requests that send their headers with "Expect: 100-continue", waits until the
     service answers each with "100 Continue" (the proof that it accepted the request and a
     handler is reading the body), and sends half of each body (backend: POST /api/tasks;
     frontend: the sign-in form POST /login);
  3. sends SIGTERM to PID, then asks for /readyz on new connections every 10 ms for 0.5 s;
  4. after HOLD seconds sends the rest of each slow body and reads the answers;
  5. stops the load loops once they can no longer connect, or after 3 s.

Prints one JSON object with what happened. Every wait is bounded; the whole run takes well
under 30 s. Only loopback is contacted.
"""

import argparse
import json
import os
import signal
import socket
import threading
import time
import http.client
import urllib.parse

HOST = "127.0.0.1"
IO_TIMEOUT = 10.0


def now():
    return time.monotonic()


class Slow:
    """One request whose body is sent in two halves around the stop signal."""

    def __init__(self, port, head, body):
        self.port = port
        self.head = head
        self.body = body
        self.sock = None
        self.accepted = False
        self.status = None
        self.error = None

    def start(self):
        try:
            self.sock = socket.create_connection((HOST, self.port), timeout=IO_TIMEOUT)
            self.sock.sendall(self.head)
            interim = read_until(self.sock, b"\r\n\r\n")
            if interim.startswith(b"HTTP/1.1 100"):
                self.accepted = True
                self.sock.sendall(self.body[: len(self.body) // 2])
            else:
                self.error = "no 100 Continue: " + first_line(interim)
        except OSError as err:
            self.error = "start: " + repr(err)

    def finish(self):
        if not self.accepted:
            return
        try:
            self.sock.sendall(self.body[len(self.body) // 2 :])
            answer = read_until(self.sock, b"\r\n\r\n")
            line = first_line(answer)
            parts = line.split(" ")
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            if self.status is None:
                self.error = "no answer: " + line
        except OSError as err:
            self.error = "finish: " + repr(err)
        finally:
            self.sock.close()


def read_until(sock, marker):
    data = b""
    deadline = now() + IO_TIMEOUT
    while marker not in data:
        if now() > deadline:
            raise TimeoutError("no complete answer in time")
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def first_line(data):
    return data.split(b"\r\n", 1)[0].decode("latin-1")


class Load(threading.Thread):
    """Requests one path in a loop on a keep-alive connection, reconnecting when needed."""

    def __init__(self, port, path, headers, stop_at):
        super().__init__(daemon=True)
        self.port = port
        self.path = path
        self.headers = headers
        self.stop_at = stop_at
        self.signal_at = None
        self.ok_before = 0
        self.ok_after = 0
        self.not_accepted_after = 0
        self.failures = []

    def signalled(self):
        """True once the stop signal is about to be sent (set just before it is)."""
        return self.signal_at is not None

    def run(self):
        conn = None
        while now() < self.stop_at[0]:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=IO_TIMEOUT)
                    conn.connect()
            except OSError as err:
                conn = None
                if self.signalled():
                    # Refused after the stop signal: the listener is closed, nothing accepted.
                    self.not_accepted_after += 1
                    if self.not_accepted_after >= 3:
                        return
                    time.sleep(0.02)
                    continue
                self.failures.append("connect before the signal: " + repr(err))
                time.sleep(0.05)
                continue
            try:
                conn.request("GET", self.path, headers=self.headers)
            except OSError:
                # The server closed the idle connection before reading this request.
                conn.close()
                conn = None
                if not self.signalled():
                    self.failures.append("send before the signal failed")
                continue
            try:
                response = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # Closed without a byte of answer: the request was never read (an idle
                # keep-alive connection closed by the shutdown). Clients retry these.
                conn.close()
                conn = None
                if not self.signalled():
                    self.failures.append("connection closed before the signal")
                continue
            except OSError as err:
                self.failures.append("waiting for the answer: " + repr(err))
                conn.close()
                conn = None
                continue
            try:
                response.read()
            except (http.client.IncompleteRead, OSError) as err:
                self.failures.append("answer cut off: " + repr(err))
                conn.close()
                conn = None
                continue
            if 200 <= response.status < 300:
                if self.signalled():
                    self.ok_after += 1
                else:
                    self.ok_before += 1
            else:
                self.failures.append("status %d" % response.status)
            if response.will_close:
                conn.close()
                conn = None


def readiness(port):
    """One /readyz request on a new connection: 'refused', 'closed' or the status code."""
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        conn.request("GET", "/readyz")
        status = conn.getresponse().status
        conn.close()
        return status
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "closed"


def frontend_session(port, origin, email, password):
    """Signs in through the form and returns the cookies to send."""
    conn = http.client.HTTPConnection(HOST, port, timeout=IO_TIMEOUT)
    conn.request("GET", "/login")
    response = conn.getresponse()
    response.read()
    cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            cookies[key] = val
    csrf = cookies.get("taskflow_csrf", "")
    form = urllib.parse.urlencode({"csrf": csrf, "email": email, "password": password})
    conn.request(
        "POST",
        "/login",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Cookie": "taskflow_csrf=" + csrf,
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 303:
        raise SystemExit("signing in through the frontend gave status %d" % response.status)
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            if val:
                cookies[key] = val
    return "; ".join("%s=%s" % item for item in cookies.items()), csrf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--kind", choices=["backend", "frontend"], required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--email", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--hold", type=float, default=1.5)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    if args.kind == "backend":
        load_path = "/api/tasks"
        load_headers = {"Authorization": "Bearer " + args.token}
        slow_path = "/api/tasks"
        slow_type = "application/json"
        slow_cookie = ""
        expected = 201
    else:
        cookie, csrf = frontend_session(args.port, args.origin, args.email, args.password)
        load_path = "/tasks"
        load_headers = {"Cookie": cookie}
        slow_path = "/login"
        slow_type = "application/x-www-form-urlencoded"
        slow_cookie = "taskflow_csrf=" + csrf
        expected = 303

    slows = []
    for i in range(args.slow):
        if args.kind == "backend":
            body = json.dumps({"title": "in flight at SIGTERM %d" % i}).encode()
            auth = "Authorization: Bearer %s\r\n" % args.token
        else:
            body = urllib.parse.urlencode(
                {"csrf": csrf, "email": args.email, "password": args.password}
            ).encode()
            auth = "Cookie: %s\r\nOrigin: %s\r\n" % (slow_cookie, args.origin)
        head = (
            "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Type: %s\r\n"
            "Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
            % (slow_path, args.port, auth, slow_type, len(body))
        ).encode()
        slows.append(Slow(args.port, head, body))

    stop_at = [now() + 25]
    loads = [Load(args.port, load_path, load_headers, stop_at) for _ in range(args.clients)]
    for load in loads:
        load.start()
    time.sleep(0.5)
    for slow in slows:
        slow.start()
    accepted = sum(1 for slow in slows if slow.accepted)

    signal_epoch_ms = int(time.time() * 1000)
    signalled = now()
    # Marked before the signal is sent, so that every failure it causes counts as after it.
    for load in loads:
        load.signal_at = signalled
    os.kill(args.pid, signal.SIGTERM)
    probes = []
    while now() - signalled < 0.5:
        sent = now() - signalled
        probes.append({"after_ms": int(sent * 1000), "answer": readiness(args.port)})
        time.sleep(0.01)

    remaining = args.hold - (now() - signalled)
    if remaining > 0:
        time.sleep(remaining)
    for slow in slows:
        slow.finish()
    stop_at[0] = min(stop_at[0], now() + 3)
    for load in loads:
        load.join(timeout=15)

    print(
        json.dumps(
            {
                "signal_epoch_ms": signal_epoch_ms,
                "slow": args.slow,
                "accepted": accepted,
                "expected_status": expected,
                "slow_statuses": [slow.status for slow in slows],
                "slow_errors": [slow.error for slow in slows if slow.error],
                "readiness_probes": probes,
                "load_ok_before": sum(load.ok_before for load in loads),
                "load_ok_after": sum(load.ok_after for load in loads),
                "load_not_accepted_after": sum(load.not_accepted_after for load in loads),
                "load_failures": [f for load in loads for f in load.failures][:20],
            }
        )
    )


if __name__ == "__main__":
    main()
