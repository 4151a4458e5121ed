#!/usr/bin/env python3
"""Measure an MCP server over stdio: cold start, request round trips and peak memory.

Starts the server command once per run, times the `initialize` reply from process start,
then times K sequential `ping` and `tools/list` requests and reads the peak resident set
(VmHWM from /proc, Linux only) before closing stdin. With --read-all it first searches the
whole mailbox with gmail_search_messages (paging) and reads every message with
gmail_get_message, so the peak includes a full pass over the mail.

Prints a table to stderr and one JSON object to stdout. Standard library only.

    scripts/stdio_client.py --runs 10 -- target/release/mcp-google-hub --sandbox
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PROTOCOL_VERSION = "2025-06-18"


class Session:
    """One server process and a JSON-RPC channel to it."""

    def __init__(self, command):
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )
        self.next_id = 1
        self.buffer = b""

    def send(self, message):
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def read_message(self):
        while b"\n" not in self.buffer:
            chunk = os.read(self.process.stdout.fileno(), 1 << 20)
            if not chunk:
                raise RuntimeError("the server closed stdout")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def request(self, method, params=None):
        request_id = self.next_id
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        while True:
            reply = self.read_message()
            if reply.get("id") == request_id:
                if "error" in reply:
                    raise RuntimeError(f"{method} failed: {reply['error']}")
                return reply["result"]

    def initialize(self):
        result = self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "stdio_client", "version": "1"},
            },
        )
        elapsed = time.perf_counter() - self.started
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result, elapsed

    def peak_rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def time_requests(session, method, count):
    """Returns the round trip of each of `count` sequential requests, in milliseconds."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        session.request(method)
        times.append((time.perf_counter() - started) * 1000)
    return times


def call_tool(session, name, arguments):
    result = session.request("tools/call", {"name": name, "arguments": arguments})
    if result.get("isError"):
        raise RuntimeError(f"{name} failed: {result['content']}")
    return result["structuredContent"]


def read_all_mail(session):
    """Searches every message page by page, then reads each one. Returns the count."""
    ids = []
    arguments = {"max_results": 100}
    while True:
        page = call_tool(session, "gmail_search_messages", arguments)
        ids += [message["id"] for message in page["messages"]]
        token = page.get("next_page_token")
        if not token:
            break
        arguments = {"max_results": 100, "page_token": token}
    for message_id in ids:
        call_tool(session, "gmail_get_message", {"message_id": message_id})
    return len(ids)


def summary(values):
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "n": len(values),
    }


def measure(command, runs, count, read_all):
    cold, ping, tools_list, rss = [], [], [], []
    tools_bytes = tools_count = messages = None
    for _ in range(runs):
        session = Session(command)
        try:
            _, elapsed = session.initialize()
            cold.append(elapsed * 1000)
            if read_all:
                messages = read_all_mail(session)
            ping.append(statistics.median(time_requests(session, "ping", count)))
            tools_list.append(statistics.median(time_requests(session, "tools/list", count)))
            tools = session.request("tools/list")["tools"]
            tools_count = len(tools)
            tools_bytes = len(json.dumps(tools, separators=(",", ":")).encode())
            rss.append(session.peak_rss_kib() / 1024)
        finally:
            session.close()
    return {
        "command": command,
        "cold_start_ms": summary(cold),
        "ping_ms": summary(ping),
        "tools_list_ms": summary(tools_list),
        "peak_rss_mib": summary(rss),
        "tools": tools_count,
        "tools_list_bytes": tools_bytes,
        "messages_read": messages,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="server starts (default 10)")
    parser.add_argument(
        "-k", type=int, default=200, help="sequential requests per method and run (default 200)"
    )
    parser.add_argument(
        "--read-all", action="store_true", help="read every message before measuring memory"
    )
    parser.add_argument("command", nargs="+", help="the server command, after --")
    options = parser.parse_args()

    result = measure(options.command, options.runs, options.k, options.read_all)
    for key in ("cold_start_ms", "ping_ms", "tools_list_ms", "peak_rss_mib"):
        figure = result[key]
        print(
            f"{key:14} median {figure['median']:9.3f}  range {figure['min']:.3f}-{figure['max']:.3f}",
            file=sys.stderr,
        )
    print(
        f"tools {result['tools']}, tools/list {result['tools_list_bytes']} bytes"
        + (f", {result['messages_read']} messages read" if options.read_all else ""),
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
