"""TimeTagger's ``PUT /api/v2/records`` under load, next to our REST ``POST`` of an entry.

:class:`RecordWriter` writes new records as the TimeTagger app makes them, one PUT per call;
``bench/run.py`` runs it in timed bursts taken in turns with our POST. Run alone, this module
installs and starts TimeTagger (``timetagger.py``, which also says what the comparison means)
and prints the figures of ``requests`` writes from ``concurrency`` clients as JSON:
``.venv/bin/python bench/timetagger_load.py --concurrency 16 --requests 2000``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2 as httpx

from bench import load
from bench.timetagger import (
    ROOT,
    TimeTaggerServer,
    count_records,
    ensure_venv,
    external_asset_refs,
    installed_version,
    log,
    timetagger_server,
)

DATA_DIR = Path("bench") / ".timetagger-data"
KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # TimeTagger's generate_uid() alphabet


class _KeyMaker:
    """Unique record keys in TimeTagger's own shape (8 letters), from a counter with a random offset."""

    def __init__(self) -> None:
        self._next = secrets.randbelow(len(KEY_ALPHABET) ** 8 // 2)

    def __call__(self) -> str:
        n, self._next = self._next, self._next + 1
        chars = []
        for _ in range(8):
            n, digit = divmod(n, len(KEY_ALPHABET))
            chars.append(KEY_ALPHABET[digit])
        return "".join(reversed(chars))


def _records(make_key: _KeyMaker, index: int, batch: int) -> list[dict[str, Any]]:
    """``batch`` finished one-hour records ending now, as the TimeTagger app creates them (st is the server's)."""
    now = int(time.time())
    return [
        {"key": make_key(), "t1": now - 3600, "t2": now, "mt": now, "ds": f"#bench load entry {index}.{part}"}
        for part in range(batch)
    ]


def _check(response: httpx.Response, keys: list[str]) -> str | None:
    """None if TimeTagger accepted every record, else the error text."""
    where = f"PUT /api/v2/records → {response.status_code}"
    if response.status_code != 200:
        return f"{where}: {response.text[:300]}"
    try:
        body = response.json()
    except ValueError:
        return f"{where}: not JSON: {response.text[:300]}"
    if not isinstance(body, dict):
        return f"{where}: unexpected body: {response.text[:300]}"
    if body.get("failed") or body.get("errors") or sorted(body.get("accepted") or []) != sorted(keys):
        return f"{where}: not all accepted: {json.dumps(body)[:300]}"
    return None


class RecordWriter:
    """``concurrency`` clients sharing one connection pool; each :meth:`write` PUTs ``batch`` new records.

    Used as an async context manager, and as the worker of :func:`bench.load.burst` or
    :func:`bench.load.timed_burst`.
    """

    def __init__(self, api_url: str, token: str, *, concurrency: int, batch: int = 1) -> None:
        self.batch = batch
        self._make_key = _KeyMaker()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.AsyncClient(
            base_url=api_url, headers={"authtoken": token}, timeout=60, limits=limits, trust_env=False
        )

    async def __aenter__(self) -> RecordWriter:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._client.__aexit__(*exc)

    async def write(self, index: int) -> None:
        """One PUT; raises unless TimeTagger accepted every record (a refusal is not an HTTP error there)."""
        records = _records(self._make_key, index, self.batch)
        try:
            response = await self._client.put("/records", json=records)
        except httpx.HTTPError as exc:
            raise RuntimeError(f"TimeTagger: PUT /api/v2/records: {type(exc).__name__}: {exc}") from exc
        error = _check(response, [record["key"] for record in records])
        if error is not None:
            raise RuntimeError(f"TimeTagger: {error}")


def default_warmup(concurrency: int, requests: int) -> int:
    return min(requests, max(20, 2 * concurrency))


def put_records_load(
    server: TimeTaggerServer, *, concurrency: int, requests: int, batch: int = 1, warmup: int
) -> dict[str, Any]:
    """``warmup`` unmeasured writes, then ``requests`` measured ones, from ``concurrency`` clients; the first
    write TimeTagger does not accept fails the run."""

    async def run() -> dict[str, Any]:
        async with RecordWriter(server.api_url, server.auth_token(), concurrency=concurrency, batch=batch) as writer:
            if warmup:
                await load.burst(writer.write, concurrency=concurrency, requests=warmup)
            measured = await load.burst(writer.write, concurrency=concurrency, requests=requests)
        return {"requests": requests, **load.summary([measured], concurrency=concurrency)}

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load TimeTagger's PUT /api/v2/records; prints the result as JSON.")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1, help="records per PUT (1 = the equivalent of our POST)")
    parser.add_argument(
        "--warmup", type=int, default=None, help="unmeasured requests first (default 2×concurrency, ≥20)"
    )
    parser.add_argument("--spec", default="timetagger", help="pip requirement for TimeTagger, e.g. timetagger==26.1.3")
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the run's data directory under bench/.timetagger-data"
    )
    args = parser.parse_args(argv)
    warmup = default_warmup(args.concurrency, args.requests) if args.warmup is None else args.warmup

    python = ensure_venv(ROOT, args.spec)
    parent = ROOT / DATA_DIR
    parent.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="run-", dir=parent))
    try:
        with timetagger_server(python, data_dir) as server:
            log(f"timetagger {installed_version(python)} at {server.url}, data in {data_dir}")
            external = external_asset_refs(server)
            if external:
                log(f"warning: pages load off-host resources: {external}")
            else:
                log("app and login pages load only local assets")
            result = put_records_load(
                server, concurrency=args.concurrency, requests=args.requests, batch=args.batch, warmup=warmup
            )
            stored = count_records(server)
            expected = (warmup + args.requests) * args.batch
            log(f"records stored: {stored} (expected {expected})")
    finally:
        if args.keep_data:
            log(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result))
    return 0 if stored == expected else 1


if __name__ == "__main__":
    sys.exit(main())
