#!/usr/bin/env python3
"""The dashboard's pages against the JSON API's, on one running service: fills it with N held
jobs (default 5,000), then prints the median of 20 requests of each page beside the API call
that reads the same jobs (the baseline, measured in the same run).

    bench/ui-pages.py http://127.0.0.1:5988 admin PASSWORD [N]

Standard library only; every request on one keep-alive connection, on loopback."""

import base64
import http.client
import json
import sys
import time
from urllib.parse import urlsplit


def main() -> None:
    url, user, password = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port or 80, timeout=60)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": "application/json"}

    def request(method, path, body=None):
        conn.request(method, path, body and json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
        if response.status >= 300:
            sys.exit(f"{method} {path}: {response.status} {data[:200]!r}")
        return data

    first = None
    for i in range(count):
        job = json.loads(request("POST", "/api/v1/jobs", {
            "properties": {"Name": f"bench-{i}", "CommandLine": ["true"]}, "hold": True}))
        first = first or job["InstanceID"].split(":")[1]

    def median_ms(path, n=20):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            size = len(request("GET", path))
            times.append(time.perf_counter() - start)
        times.sort()
        return times[n // 2] * 1000, size

    pairs = [
        ("/ui/jobs", "/api/v1/jobs?limit=500"),
        ("/ui/jobs?q=bench-42", "/api/v1/jobs?q=bench-42"),
        (f"/ui/jobs/{first}", f"/api/v1/jobs/{first}"),
        ("/ui/schedules", "/api/v1/jobs?limit=500"),
        ("/ui", "/healthz"),
    ]
    print(f"{count} stored jobs; median of 20 requests")
    print(f"{'page':26s} {'ms':>8s} {'baseline':26s} {'ms':>8s} {'ratio':>6s}")
    for page, baseline in pairs:
        page_ms, _ = median_ms(page)
        base_ms, _ = median_ms(baseline)
        print(f"{page:26s} {page_ms:8.1f} {baseline:26s} {base_ms:8.1f} {page_ms / base_ms:6.2f}")


if __name__ == "__main__":
    main()
