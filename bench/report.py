"""Benchmark results: the targets judged, a JSON record with the machine, and a Markdown table."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

READ_RATIO_TARGET = 3.0
LIST_P50_TARGET_MS = 20.0


def assemble(
    *,
    args: dict[str, Any],
    dataset: dict[str, Any],
    measured: dict[str, Any],
    reports: list[dict[str, Any]],
    queries: dict[str, int],
    timetagger: dict[str, Any],
    machine: dict[str, Any],
    seconds: float,
) -> dict[str, Any]:
    bare_p50 = measured["mcp_bare"]["p50_ms"]
    targets = []
    for name, stats in measured["mcp_reads"].items():
        stats["ratio_to_bare_p50"] = round(stats["p50_ms"] / bare_p50, 2)
        same = stats.get("bare_same_answer")
        if same:
            stats["ratio_to_bare_same_answer_p50"] = round(stats["p50_ms"] / same["p50_ms"], 2)
        targets.append(
            {
                "target": f"MCP {name} p50 ≤ {READ_RATIO_TARGET}× bare",
                "value": stats["ratio_to_bare_p50"],
                "met": stats["ratio_to_bare_p50"] <= READ_RATIO_TARGET,
            }
        )
    listing = measured["mcp_reads"]["list_time_entries"]["p50_ms"]
    targets.append(
        {
            "target": f"MCP list_time_entries p50 < {LIST_P50_TARGET_MS:g} ms",
            "value": listing,
            "met": listing < LIST_P50_TARGET_MS,
        }
    )
    ours = measured["rest"]["POST time entry"]["throughput_per_s"]
    peer = timetagger.get("throughput_per_s") or 0
    ratio = round(ours / peer, 2) if peer else None
    targets.append(
        {"target": "REST POST throughput ≥ TimeTagger PUT records", "value": ratio, "met": bool(ratio and ratio >= 1)}
    )
    per_phase = measured["memory"]["requests_per_phase"]
    for row in reports:
        targets.append(
            {"target": f"{row['report']} ≤ 1.3× SQL (equal numbers)", "value": row["ratio"], "met": row["target_met"]}
        )
    targets.append(
        {
            "target": f"web worker RSS growth < 5 % ({per_phase:,} → {2 * per_phase:,} requests)",
            "value": measured["memory"]["growth_percent"],
            "met": measured["memory"]["target_met"],
        }
    )
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "args": args,
        "machine": machine,
        "dataset": dataset,
        "mcp": {"bare": measured["mcp_bare"], "reads": measured["mcp_reads"], "writes": measured["mcp_writes"]},
        "rest": measured["rest"],
        "timetagger": {**timetagger, "rest_post_ratio": ratio},
        "reports": reports,
        "queries_per_call": queries,
        "memory": measured["memory"],
        "targets": targets,
        "seconds": round(seconds, 1),
    }


def member_week(dataset: dict[str, Any]) -> list[str]:
    """Which member-week ``list_time_entries`` and the REST GET read (runs before round seven: not recorded)."""
    entries = dataset.get("member_week_entries")
    if entries is None:
        return []
    return ["", f"`list_time_entries` and REST GET read one member-week: the median member's, {entries} entries."]


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    entries = results["dataset"].get("entries")
    dataset = f"{entries:,} entries" if isinstance(entries, int) else "the last run's database (--skip-build)"
    lines = [
        f"# Benchmark {results['when']}",
        "",
        f"{dataset} · {m['cores']} cores, {m['cpu']}, {m['memory']} · Python {m['python']} · {m['postgres']} · run took {results['seconds']} s",
        "",
        "## Targets",
        "",
        "| target | value | met |",
        "|---|---|---|",
        *[f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |" for t in results["targets"]],
        "",
        "## MCP reads (sequential, one session, real OAuth token)",
        "",
        "*Bare, same answer*: the bare server replaying the answer ours gave, under ours's",
        "`outputSchema`. *Client check*: the SDK client's `jsonschema` validation of that answer, part",
        "of every p50 here.",
        *member_week(results["dataset"]),
        "",
        "| tool | p50 ms | p95 ms | p99 ms | ÷ bare p50 | bare, same answer p50 | ÷ it | client check p50 | queries |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    bare = results["mcp"]["bare"]
    lines.append(
        f"| bare SDK server, constant tool | {bare['p50_ms']} | {bare['p95_ms']} | {bare['p99_ms']} | 1.0 | | | {bare.get('client_check_p50_ms', '')} | 0 |"
    )
    for name, s in results["mcp"]["reads"].items():
        same = s.get("bare_same_answer", {})
        lines.append(
            f"| {name} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | {s['ratio_to_bare_p50']} | {same.get('p50_ms', '')} | {s.get('ratio_to_bare_same_answer_p50', '')} | {s.get('client_check_p50_ms', '')} | {results['queries_per_call'].get('mcp ' + name, '')} |"
        )
    lines += [
        "",
        "## Writes and REST (throughput under concurrency)",
        "",
        "| load | concurrency | per s | p50 ms | p95 ms | queries |",
        "|---|---|---|---|---|---|",
    ]
    w = results["mcp"]["writes"]["log_time"]
    lines.append(
        f"| MCP log_time (non-billable, direct) | {w['concurrency']} | {w['throughput_per_s']} | {w['p50_ms']} | {w['p95_ms']} | {results['queries_per_call'].get('mcp log_time (dry run)', '')} (dry run) |"
    )
    for name, s in results["rest"].items():
        lines.append(
            f"| REST {name} | {s['concurrency']} | {s['throughput_per_s']} | {s['p50_ms']} | {s['p95_ms']} | {results['queries_per_call'].get('rest ' + name, '')} |"
        )
    t = results["timetagger"]
    lines.append(
        f"| TimeTagger PUT /api/v2/records (1 record) | {t.get('concurrency', 16)} | {t.get('throughput_per_s')} | {t.get('p50_ms')} | {t.get('p95_ms')} | (SQLite) |"
    )
    lines += [
        "",
        "## Reports: selector vs hand-written SQL (median of 15 each, warm, timed in turns)",
        "",
        "| report | selector ms | SQL ms | ratio | equal | rows |",
        "|---|---|---|---|---|---|",
    ]
    for r in results["reports"]:
        lines.append(
            f"| {r['report']} | {r['selector_ms']} | {r['sql_ms']} | {r['ratio']} | {r['equal']} | {r['rows']} |"
        )
    mem = results["memory"]
    n = mem["requests_per_phase"]
    lines += [
        "",
        "## Memory",
        "",
        f"Web workers' RSS (both): {mem['rss_kib_after_phase_1']:,} KiB after {n:,} requests, {mem['rss_kib_after_phase_2']:,} KiB after {2 * n:,} ({mem['growth_percent']} %).",
        "",
    ]
    return "\n".join(lines)


def write(results: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = results["when"].replace(":", "").replace("-", "")
    scale = "quick" if results["dataset"].get("entries", 0) and results["dataset"]["entries"] < 200_000 else "full"
    json_path = folder / f"{stamp}-{scale}.json"
    md_path = folder / f"{stamp}-{scale}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md_path.write_text(markdown(results))
    return [json_path, md_path]
