#!/usr/bin/env python3
"""Turns bq_bench's JSON output into docs/bench/results.md, chart.svg and results.json.

Usage: report.py --out DIR [--readme FILE] [--meta KEY=VALUE ...]
                 [--registered FILE --failed FILE] RUN.json [RUN.json ...]

Each RUN.json is one `bq_bench --benchmark_out=... --benchmark_out_format=json` run
(scripts/bench.sh runs each queue in its own process). Every repetition is read, not
only the aggregates: the median, min and max are computed here, and a queue with any
repetition that failed its item check shows the error instead of a number. With
--registered (the `--benchmark_list_tests` output) and --failed (lines "QUEUE ROUND EXIT_CODE"
for every process that did not exit cleanly), a benchmark a queue has but whose process was
cut off before it ran shows "did not finish" instead of "-" (which means "no such operation").
Standard library only.
"""

import argparse
import datetime
import html
import json
import os
import re
import statistics
import sys

# Display order and names of the rows; ids not listed here are appended in run order.
QUEUES = [
    ("bq_mpmc", "**bq** BoundedQueue&lt;Block, Mpmc&gt;"),
    ("bq_spsc", "**bq** BoundedQueue&lt;Block, Spsc&gt;"),
    ("bq_mpmc_spin", "**bq** Mpmc, `try_push_range`/`try_pop_into`, spinning"),
    ("bq_spsc_spin", "**bq** Spsc, `try_push_range`/`try_pop_into`, spinning"),
    ("aq_atomicqueue", "atomic_queue AtomicQueue"),
    ("aq_atomicqueue2", "atomic_queue AtomicQueue2"),
    ("aq_atomicqueue_spsc", "atomic_queue AtomicQueue SPSC"),
    ("aq_atomicqueue2_spsc", "atomic_queue AtomicQueue2 SPSC"),
    ("mc_blockingconcurrentqueue", "moodycamel BlockingConcurrentQueue"),
    ("mc_concurrentqueue", "moodycamel ConcurrentQueue (bulk calls)"),
    ("mc_readerwriterqueue", "moodycamel ReaderWriterQueue (SPSC)"),
    ("mc_rwcircularbuffer", "moodycamel BlockingReaderWriterCircularBuffer (SPSC)"),
    ("boost_queue", "boost::lockfree::queue"),
    ("boost_spsc_queue", "boost::lockfree::spsc_queue"),
    ("ck_ring_mpmc", "Concurrency Kit ck_ring (MPMC ops)"),
    ("ck_ring_spsc", "Concurrency Kit ck_ring (SPSC ops)"),
    ("tbb_bounded_queue", "oneTBB concurrent_bounded_queue"),
    ("spdlog_mpmc_blocking_q", "spdlog mpmc_blocking_queue"),
    ("mutex_ring", "std::mutex + 2 condvars ring"),
]
SPSC_PEERS = ["aq_atomicqueue_spsc", "aq_atomicqueue2_spsc", "mc_readerwriterqueue",
              "mc_rwcircularbuffer", "boost_spsc_queue", "ck_ring_spsc"]

# scenario -> (column heading, how to read one repetition, unit, better)
SCENARIOS = {
    "throughput_1p1c": ("1P1C Mitems/s", "items_per_second", 1e-6, "higher"),
    "throughput_2p2c": ("2P2C Mitems/s (4 threads)", "items_per_second", 1e-6, "higher"),
    "push_pop_1thread": ("one-thread push+pop ns", "real_time", 1.0, "lower"),
    "drop_oldest_full": ("drop-oldest push on full ns", "real_time", 1.0, "lower"),
    "try_push_full": ("failed try_push ns", "real_time", 1.0, "lower"),
    "blocked_consumer_cpu": ("CPU ms of a consumer blocked 1 s", "cpu_ms", 1.0, "lower"),
    "push_for_1ms": ("push_for(1 ms) took ms", "actual_us", 1e-3, "closer"),
    "push_for_10ms": ("push_for(10 ms) took ms", "actual_us", 1e-3, "closer"),
    "throughput_1p1c_metrics_reader": ("1P1C with a metrics reader Mitems/s",
                                       "items_per_second", 1e-6, "higher"),
    "throughput_1p1c_idle_reader": ("1P1C with an idle third thread Mitems/s",
                                    "items_per_second", 1e-6, "higher"),
    "throughput_batch32_1p1c": ("1P1C in batches of 32 Mitems/s", "items_per_second", 1e-6,
                                "higher"),
    "push_pop_batch32_1thread": ("one-thread batch push+pop of 32, Mitems/s",
                                 "items_per_second", 1e-6, "higher"),
    "overload_1p1c": ("overload 1P1C producer Mitems/s", "producer_Mps", 1.0, "higher"),
    "overload_2p1c": ("overload 2P1C producer Mitems/s", "producer_Mps", 1.0, "higher"),
}
# The overload scenarios' other counters: (counter, column heading).
OVERLOAD_COUNTERS = [("producer_Mps", "producer Mitems/s"),
                     ("delivered_Mps", "consumer delivered Mitems/s"),
                     ("delivered_pct", "delivered %"),
                     ("age_items", "age of delivered items (items)")]
MAIN_COLUMNS = ["throughput_1p1c", "throughput_2p2c", "push_pop_1thread", "drop_oldest_full",
                "try_push_full", "blocked_consumer_cpu", "push_for_1ms", "push_for_10ms"]


class Cell:
    """The repetitions of one (scenario, queue) benchmark."""

    def __init__(self):
        self.values = []
        self.errors = []
        self.label = ""
        self.held = None
        self.counters = {}  # counter -> values, one per repetition (overload scenarios)
        self.unfinished = 0  # repetitions whose process ended before this benchmark ran
        self.stop_reason = ""

    @property
    def text_if_unfinished(self):
        """What to show instead of a number when no repetition finished, else None."""
        if self.values or self.errors or not self.unfinished:
            return None
        return "**did not finish** (%s, %d/%d reps)" % (self.stop_reason, self.unfinished,
                                                        self.unfinished)

    @property
    def shortfall(self):
        """" (3 of 5 reps)" when some repetitions finished and others did not, else ""."""
        if not self.unfinished or not self.values:
            return ""
        done = len(self.values) + len(self.errors)
        return " (%d of %d reps)" % (done, done + self.unfinished)

    @property
    def ok(self):
        return self.values and not self.errors

    @property
    def median(self):
        return statistics.median(self.values)


def read_run(path):
    """One bq_bench JSON file. A run cut off mid-way (bench.sh's per-queue timeout) leaves it
    unterminated: the benchmarks that completed before the cut are kept, with a notice."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError:
        end = text.rfind("\n    }")  # the last complete entry of "benchmarks"
        if end < 0:
            raise
        data = json.loads(text[:end + len("\n    }")] + "\n  ]\n}\n")
        print("report.py: %s was cut off; kept its %d completed benchmarks"
              % (path, len(data.get("benchmarks", []))), file=sys.stderr)
        return data


def load(paths):
    """Returns the cells, each run's context, the queues in run order, and every benchmark
    entry of every run as read (for results.json)."""
    cells = {}
    contexts = []
    order = []
    entries = []
    for path in paths:
        try:
            data = read_run(path)
        except (OSError, ValueError) as e:
            print("report.py: skipping %s: %s" % (path, e), file=sys.stderr)
            continue
        contexts.append(data.get("context", {}))
        entries.extend(data.get("benchmarks", []))
        for run in data.get("benchmarks", []):
            if run.get("run_type") != "iteration":
                continue
            parts = run["run_name"].split("/")
            scenario, queue = parts[0], parts[1]
            if queue not in order:
                order.append(queue)
            cell = cells.setdefault((scenario, queue), Cell())
            if run.get("error_occurred"):
                cell.errors.append(run.get("error_message", "error"))
                continue
            key, scale = SCENARIOS.get(scenario, (None, "real_time", 1.0))[1:3]
            value = run.get(key)
            if key == "real_time":
                value = to_ns(value, run.get("time_unit", "ns"))
            if value is None:
                cell.errors.append("no %s in the output" % key)
                continue
            cell.values.append(value * scale)
            cell.label = run.get("label", "")
            for counter, _ in OVERLOAD_COUNTERS:
                if counter in run:
                    cell.counters.setdefault(counter, []).append(run[counter])
            if "held" in run:
                cell.held = int(run["held"])
    return cells, contexts, order, entries


def mark_unfinished(cells, registered_path, failed_path, repetitions):
    """For every queue whose process failed in some round: counts, for each benchmark it has,
    the repetitions that never reported (its process ended before that benchmark ran), and
    records why the process ended."""
    codes = {}  # queue -> exit codes of its failed rounds
    with open(failed_path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                queue, _, code = line.split()
                codes.setdefault(queue, []).append(int(code))
    reasons = {queue: "cut off by the time limit" if set(queue_codes) == {124}  # timeout(1)'s
               else "exit code %s" % ", ".join(str(c) for c in sorted(set(queue_codes)))
               for queue, queue_codes in codes.items()}
    with open(registered_path, encoding="utf-8") as f:
        names = [line.strip().split("/") for line in f if "/" in line]
    for parts in names:
        scenario, queue = parts[0], parts[1]
        if queue not in reasons:
            continue
        cell = cells.setdefault((scenario, queue), Cell())
        cell.unfinished = max(0, repetitions - len(cell.values) - len(cell.errors))
        cell.stop_reason = reasons[queue]


def to_ns(value, unit):
    return value * {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


def fmt_num(value):
    if value >= 100:
        return "%.0f" % value
    if value >= 10:
        return "%.1f" % value
    if value >= 1:
        return "%.2f" % value
    if value >= 0.01:
        return "%.3f" % value
    return "%.2g" % value


def cell_text(cells, scenario, queue):
    cell = cells.get((scenario, queue))
    if cell is None:
        return "-"
    if cell.text_if_unfinished:
        return cell.text_if_unfinished
    if cell.errors:
        return "**check failed** (%d/%d reps): %s" % (
            len(cell.errors), len(cell.errors) + len(cell.values), cell.errors[0])
    text = fmt_num(cell.median)
    if len(cell.values) > 1 and scenario.startswith("throughput"):
        text += " (%s-%s)" % (fmt_num(min(cell.values)), fmt_num(max(cell.values)))
    if scenario == "drop_oldest_full" and cell.label.startswith("emulated"):
        text += " emulated"
    if scenario == "blocked_consumer_cpu" and "parks" not in cell.label:
        text += " (spins)"
    return text + cell.shortfall


def ratio_line(cells, what, scenario, ours, theirs, target, better):
    """One row of the targets table: ours / theirs in one scenario, against `target`."""
    return ratio_row(what, "%s vs %s" % (ours, theirs), cells.get((scenario, ours)),
                     cells.get((scenario, theirs)), target, better)


def ratio_row(what, compared, a, b, target, better):
    """One row of the targets table: the median of cell a over that of cell b."""
    goal = (">= %.2gx" if better == "higher" else "<= %.2gx") % target
    if not (a and a.ok and b and b.ok):
        return "| %s | %s | not measured | %s | - |" % (what, compared, goal)
    ratio = a.median / b.median
    short = (1 - ratio / target) if better == "higher" else (ratio / target - 1)
    return "| %s | %s | %.2fx (%s vs %s) | %s | %s |" % (
        what, compared, ratio, fmt_num(a.median), fmt_num(b.median), goal, verdict(short))


def verdict(short):
    """"met", or by how much the goal was missed (`short`: the fraction of the goal missing);
    a near miss keeps a decimal rather than reading "missed by 0%"."""
    if short <= 0:
        return "met"
    return "missed by %s%%" % ("%.1f" % (short * 100) if short < 0.01 else "%.0f" % (short * 100))


def counter_median(cell, counter):
    values = cell.counters.get(counter) if cell and cell.ok else None
    return statistics.median(values) if values else None


def delivered_line(cells, queue):
    """Overload 1P1C: the consumer's delivered rate against the better of spdlog and the
    mutex ring (both drop the oldest natively)."""
    ours = counter_median(cells.get(("overload_1p1c", queue)), "delivered_Mps")
    peers = {p: counter_median(cells.get(("overload_1p1c", p)), "delivered_Mps")
             for p in ("spdlog_mpmc_blocking_q", "mutex_ring")}
    peers = {p: v for p, v in peers.items() if v is not None}
    what = "overload 1P1C consumer delivered rate"
    if ours is None or not peers:
        return "| %s | %s vs the better of spdlog, mutex_ring | not measured | >= 1x | - |" % (
            what, queue)
    best = max(peers, key=peers.get)
    ratio = ours / peers[best]
    return "| %s | %s vs %s (the better) | %.2fx (%s vs %s) | >= 1x | %s |" % (
        what, queue, best, ratio, fmt_num(ours), fmt_num(peers[best]), verdict(1 - ratio))


def overload_table(cells, queues, link):
    """Every counter of the overload scenarios, one row per queue that ran them."""
    out = ["Overload: producers push as fast as they can and drop the oldest item when the "
           "queue is full; one consumer does a fixed ~100 ns of work per item, so it cannot "
           "keep up (scenario and checks: [bench/README.md](%s)). Medians; \"emulated\" means "
           "a failed try_push, a try_pop and a retry by the producer." % link, ""]
    heads = []
    for scenario in ("overload_1p1c", "overload_2p1c"):
        heads += ["%s %s" % (scenario[len("overload_"):].upper(), h) for _, h in OVERLOAD_COUNTERS]
    out.append("| queue | " + " | ".join(heads) + " |")
    out.append("|---" * (len(heads) + 1) + "|")
    for queue, title in queues:
        row = [title]
        ran = False
        for scenario in ("overload_1p1c", "overload_2p1c"):
            cell = cells.get((scenario, queue))
            for counter, _ in OVERLOAD_COUNTERS:
                if cell is not None and cell.text_if_unfinished:
                    row.append(cell.text_if_unfinished)
                    ran = True
                    continue
                if cell is not None and cell.errors:
                    row.append("**check failed**: %s" % cell.errors[0])
                    ran = True
                    continue
                value = counter_median(cell, counter)
                ran = ran or value is not None
                text = fmt_num(value) if value is not None else "-"
                if value is not None and counter == "producer_Mps" and \
                        cell.label.startswith("emulated"):
                    text += " emulated"
                if value is not None:
                    text += cell.shortfall
                row.append(text)
        if ran:
            out.append("| " + " | ".join(row) + " |")
    return out


def spread(cell):
    return (max(cell.values) - min(cell.values)) / cell.median if cell and cell.ok else None


def targets_table(cells):
    lines = ["| target | compared | measured ratio (medians) | goal | verdict |",
             "|---|---|---|---|---|"]
    lines.append(ratio_line(cells, "1P1C, MPMC mode, blocking", "throughput_1p1c", "bq_mpmc",
                            "aq_atomicqueue", 1.0, "higher"))
    blocked = cells.get(("blocked_consumer_cpu", "bq_mpmc"))
    lines.append("| waiting consumer CPU < 1 ms per s | bq_mpmc | %s | < 1 ms | %s |" % (
        ("%s ms (max %s)" % (fmt_num(blocked.median), fmt_num(max(blocked.values))),
         "met" if max(blocked.values) < 1.0 else "missed") if blocked and blocked.ok
        else ("not measured", "-")))
    fastest = None
    for peer in SPSC_PEERS:
        cell = cells.get(("throughput_1p1c", peer))
        if cell and cell.ok and (fastest is None or cell.median > cells[
                ("throughput_1p1c", fastest)].median):
            fastest = peer
    lines.append(ratio_line(cells, "1P1C, SPSC mode (fastest SPSC peer)", "throughput_1p1c",
                            "bq_spsc", fastest or "an SPSC peer", 1.0, "higher"))
    for peer, target in (("mc_blockingconcurrentqueue", 1.5), ("tbb_bounded_queue", 3.0),
                         ("spdlog_mpmc_blocking_q", 3.0)):
        lines.append(ratio_line(cells, "2P2C (oversubscribed)", "throughput_2p2c", "bq_mpmc",
                                peer, target, "higher"))
    ours = spread(cells.get(("throughput_2p2c", "bq_mpmc")))
    theirs = {p: spread(cells.get(("throughput_2p2c", p)))
              for p in ("mc_blockingconcurrentqueue", "tbb_bounded_queue", "spdlog_mpmc_blocking_q")}
    theirs = {p: s for p, s in theirs.items() if s is not None}
    if ours is not None and theirs:
        lines.append("| 2P2C min-max spread no wider than theirs | bq_mpmc vs %s | %.0f%% vs %s "
                     "| <= each | %s |" % (
                         ", ".join(theirs), ours * 100,
                         ", ".join("%.0f%%" % (s * 100) for s in theirs.values()),
                         "met" if all(ours <= s for s in theirs.values()) else "missed"))
    else:
        lines.append("| 2P2C min-max spread no wider than theirs | bq_mpmc vs its 2P2C peers "
                     "| not measured | <= each | - |")
    lines.append(ratio_line(cells, "one-thread push+pop (ns)", "push_pop_1thread", "bq_mpmc",
                            "ck_ring_mpmc", 1.0, "lower"))
    # Issue 11's one-thread targets, per concurrency mode (they replace the first bench's
    # single drop-oldest row, which asked Mpmc for 0.5x).
    for queue, target in (("bq_mpmc", 1.0), ("bq_spsc", 0.5)):
        lines.append(ratio_line(cells, "drop-oldest push into a full queue (ns) (issue 11)",
                                "drop_oldest_full", queue, "spdlog_mpmc_blocking_q", target,
                                "lower"))
    lines.append(ratio_line(cells, "one-thread push+pop (ns) (issue 11)", "push_pop_1thread",
                            "bq_spsc", "boost_spsc_queue", 2.0, "lower"))
    for queue in ("bq_mpmc", "bq_spsc"):
        lines.append(ratio_line(cells, "overload 1P1C producer rate", "overload_1p1c", queue,
                                "spdlog_mpmc_blocking_q", 3.0, "higher"))
        lines.append(ratio_line(cells, "overload 1P1C producer rate", "overload_1p1c", queue,
                                "mutex_ring", 2.0, "higher"))
        lines.append(delivered_line(cells, queue))
    lines.append(ratio_line(cells, "overload 2P1C producer rate", "overload_2p1c", "bq_mpmc",
                            "spdlog_mpmc_blocking_q", 2.0, "higher"))
    for queue in ("bq_mpmc", "bq_spsc"):
        batches = cells.get(("throughput_batch32_1p1c", queue))
        lines.append(ratio_row("1P1C batches of 32 vs single items, same mode (issue 13)",
                               "%s batch32 vs %s single" % (queue, queue), batches,
                               cells.get(("throughput_1p1c", queue)), 3.0, "higher"))
        lines.append(ratio_row("1P1C batches of 32 vs moodycamel bulk calls (issue 13)",
                               "%s vs mc_concurrentqueue" % queue, batches,
                               cells.get(("throughput_batch32_1p1c", "mc_concurrentqueue")), 1.0,
                               "higher"))
    for queue in ("bq_mpmc", "bq_spsc"):
        plain = cells.get(("throughput_1p1c", queue))
        idle = cells.get(("throughput_1p1c_idle_reader", queue))
        read = cells.get(("throughput_1p1c_metrics_reader", queue))
        for base, what in ((plain, "vs no third thread"), (idle, "vs an idle thread waking as "
                                                               "often (metrics' own cost)")):
            row = "| metrics overhead on 1P1C, reader every 100 us, %s | %s | " % (what, queue)
            if not (base and base.ok and read and read.ok):
                lines.append(row + "not measured | < 5% | - |")
                continue
            overhead = 1 - read.median / base.median
            missed = (overhead - 0.05) * 100  # points
            lines.append(row + "%.1f%% (%s vs %s Mitems/s) | < 5%% | %s |" % (
                overhead * 100, fmt_num(read.median), fmt_num(base.median),
                "met" if overhead < 0.05 else "missed by %s points" % (
                    "%.2f" % missed if missed < 0.1 else "%.1f" % missed)))
    return lines


def machine_info():
    info = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name") and "cpu" not in info:
                    info["cpu"] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    info["nproc"] = str(os.cpu_count())
    try:
        info["kernel"] = os.uname().release
    except AttributeError:
        pass
    return info


def header_lines(meta, contexts):
    machine = machine_info()
    ctx = contexts[0] if contexts else {}
    loads = [c.get("load_avg", [None])[0] for c in contexts if c.get("load_avg")]
    out = []
    out.append("- command: `%s`" % meta.get("command", "scripts/bench.sh"))
    out.append("- date: %s" % meta.get("date", ctx.get("date", "unknown")))
    out.append("- machine: %s, %s logical CPUs (nproc), Linux %s" % (
        machine.get("cpu", "unknown CPU"), machine.get("nproc"), machine.get("kernel", "?")))
    if "compiler" in meta:
        out.append("- compiler: %s, %s" % (meta["compiler"], meta.get("build_type", "Release")))
    if loads:
        out.append("- 1-minute load average when each process started: %s-%s "
                   "(above the core count means other work shared the CPUs)" % (
                       fmt_num(min(loads)), fmt_num(max(loads))))
    reps = meta.get("repetitions")
    if reps:
        out.append("- %s repetitions per benchmark, min time %s s, run in %s rounds: each round "
                   "runs every queue once, each queue in its own process, so every queue's "
                   "repetitions are spread over the whole run; cells are medians, "
                   "throughput cells add (min-max)" % (reps, meta.get("min_time", "?"), reps))
    if meta.get("note"):
        out.append("- **%s**" % meta["note"])
    return out


def results_table(cells, queues, link):
    out = ["uint64_t items, capacity 1024 (what each queue really held is in the last "
           "column). \"-\" means the queue has no such operation or mode; \"did not finish\" "
           "means it has, but its process was cut off before that benchmark ran; \"emulated\" "
           "means drop-oldest is a failed try_push + try_pop + try_push; \"(spins)\" means "
           "the queue has no parking wait, so its waiting consumer spins. Scenarios: "
           "[bench/README.md](%s)." % link, ""]
    heads = [SCENARIOS[s][0] for s in MAIN_COLUMNS]
    out.append("| queue | " + " | ".join(heads) + " | held |")
    out.append("|---" * (len(heads) + 2) + "|")
    for queue, title in queues:
        if not any((s, queue) in cells for s in MAIN_COLUMNS):
            continue  # only in the batch table
        held = next((c for c in (cells.get(("try_push_full", queue)),
                                 cells.get(("drop_oldest_full", queue)))
                     if c is not None and c.held is not None), None)
        row = [title] + [cell_text(cells, s, queue) for s in MAIN_COLUMNS]
        row.append(str(held.held) if held else "-")
        out.append("| " + " | ".join(row) + " |")
    return out


BATCH_COLUMNS = ["throughput_1p1c", "throughput_batch32_1p1c", "push_pop_batch32_1thread"]


def batch_table(cells, queues):
    """The batch scenarios, one row per queue that ran them, with its single-item 1P1C rate."""
    out = ["Batches of 32: bq's `push_range`/`pop_into` (waiting), its `try_push_range`/"
           "`try_pop_into` (spinning while they fail, as the moodycamel row does), and moodycamel "
           "ConcurrentQueue's `try_enqueue_bulk`/`try_dequeue_bulk`. Medians, Mitems/s.", ""]
    heads = [SCENARIOS[s][0] for s in BATCH_COLUMNS]
    out.append("| queue | " + " | ".join(heads) + " |")
    out.append("|---" * (len(heads) + 1) + "|")
    for queue, title in queues:
        if not any((s, queue) in cells for s in BATCH_COLUMNS[1:]):
            continue
        out.append("| " + " | ".join([title] + [cell_text(cells, s, queue)
                                               for s in BATCH_COLUMNS]) + " |")
    return out


def write_markdown(path, cells, queues, meta, contexts):
    out = ["# bq queue comparison", "",
           "Generated by `bench/report.py` from `bq_bench` output; do not edit by hand.", ""]
    out += header_lines(meta, contexts) + [""]
    out += results_table(cells, queues, "../../bench/README.md") + [""]
    out += overload_table(cells, queues, "../../bench/README.md") + [""]
    out += batch_table(cells, queues) + [""]
    out += ["## Targets (ratios of medians measured in this run)", ""]
    out += targets_table(cells) + [""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def write_readme_section(path, cells, queues, meta, contexts):
    """The benchmark section, numbers from this run: scripts/bench.sh puts it into
    docs/benchmarks.md between its markers (a smoke run leaves it next to its results)."""
    out = ["## Benchmarks", "",
           "bq against the queues people use instead of it, in one Google Benchmark binary "
           "(`bench/`), with every item checked (sum, count and per-producer order) so a "
           "broken queue cannot post a good number. One command builds, runs and writes "
           "[docs/bench/results.md](docs/bench/results.md), "
           "[chart.svg](docs/bench/chart.svg) and the raw JSON:", "",
           "```sh", "scripts/bench.sh          # 5-30 minutes on 2 cores (a peer that crawls "
           "is cut off after 300 s a round); --smoke for a quick check", "```", "",
           "![bq vs peer queues](docs/bench/chart.svg)", ""]
    out += header_lines(meta, contexts) + [""]
    out += results_table(cells, queues, "bench/README.md") + [""]
    out += overload_table(cells, queues, "bench/README.md") + [""]
    out += batch_table(cells, queues) + [""]
    out += ["Against the targets of the performance issues (ratios of medians from the same run):",
            ""]
    out += targets_table(cells) + [""]
    out += ["Numbers move from run to run and with machine load; only ratios measured in "
            "one run mean anything. Rerun on your own machine before relying on them.", ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


# ---------------------------------------------------------------------------
# The chart: one panel per scenario, a horizontal bar per queue, bq's bars highlighted.

CHART_PANELS = [
    ("throughput_1p1c", "1P1C throughput, Mitems/s (higher is better)", False),
    ("throughput_2p2c", "2P2C throughput, Mitems/s (higher is better)", False),
    ("push_pop_1thread", "one-thread push+pop, ns (lower is better)", False),
    ("drop_oldest_full", "drop-oldest push into a full queue, ns (lower is better)", False),
    ("overload_1p1c", "overload 1P1C: producer Mitems/s while shedding load (higher is better)",
     False),
    ("blocked_consumer_cpu", "CPU ms used by a consumer blocked 1 s (log scale, lower is better)",
     True),
]


def write_svg(path, cells, queues, subtitle):
    import math
    width, label_w, bar_h, gap, pad = 1000, 370, 16, 4, 12
    plot_w = width - label_w - 90
    parts = []
    y = 66
    for scenario, title, log in CHART_PANELS:
        rows = [(q, t, cells[(scenario, q)]) for q, t in queues if (scenario, q) in cells]
        if not rows:
            continue
        parts.append('<text x="%d" y="%d" class="panel">%s</text>' % (pad, y, html.escape(title)))
        y += 10
        ok = [c.median for _, _, c in rows if c.ok]
        top = max(ok) if ok else 1.0
        lo = min(v for v in ok if v > 0) if ok and any(v > 0 for v in ok) else 1e-3
        lo_log = math.floor(math.log10(lo))
        hi_log = math.ceil(math.log10(top)) if top > 0 else 0
        if hi_log <= lo_log:
            hi_log = lo_log + 1
        for queue, title_html, cell in rows:
            name = re.sub(r"\*\*|&lt;|&gt;", lambda m: {"&lt;": "<", "&gt;": ">"}.get(
                m.group(0), ""), title_html)
            mine = queue.startswith("bq_")
            parts.append('<text x="%d" y="%d" class="%s">%s</text>' % (
                label_w - 8, y + bar_h - 4, "lab bq" if mine else "lab", html.escape(name)))
            if cell.ok:
                v = cell.median
                if log:
                    frac = (math.log10(max(v, 10 ** lo_log)) - lo_log) / (hi_log - lo_log)
                else:
                    frac = v / top
                w = max(1.0, frac * plot_w)
                parts.append('<rect x="%d" y="%d" width="%.1f" height="%d" class="%s"/>' % (
                    label_w, y, w, bar_h, "bar bq" if mine else "bar"))
                parts.append('<text x="%.1f" y="%d" class="val">%s</text>' % (
                    label_w + w + 4, y + bar_h - 4, fmt_num(v)))
            else:
                parts.append('<text x="%d" y="%d" class="val err">%s</text>' % (
                    label_w + 4, y + bar_h - 4,
                    "did not finish" if cell.text_if_unfinished else "check failed"))
            y += bar_h + gap
        y += 28
    height = y
    svg = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="sans-serif" font-size="12">' % (width, height, width, height),
        "<style>.panel{font-weight:bold;font-size:13px}.lab{text-anchor:end;fill:#333}"
        ".lab.bq{font-weight:bold;fill:#000}.bar{fill:#9aa7b8}.bar.bq{fill:#d9534f}"
        ".val{fill:#333}.err{fill:#c00}.title{font-size:15px;font-weight:bold}"
        ".sub{fill:#555}</style>",
        '<rect width="100%" height="100%" fill="#fff"/>',
        '<text x="%d" y="20" class="title">bq vs peer queues (uint64_t, capacity 1024)</text>'
        % pad,
        '<text x="%d" y="36" class="sub">%s</text>' % (pad, html.escape(subtitle)),
    ] + parts + ["</svg>"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(svg) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for results.md/chart.svg/json")
    parser.add_argument("--meta", action="append", default=[], help="KEY=VALUE for the header")
    parser.add_argument("--readme", help="also write the README section to this path")
    parser.add_argument("--registered", help="bq_bench --benchmark_list_tests output")
    parser.add_argument("--failed", help='lines "QUEUE ROUND EXIT_CODE", one per failed process')
    parser.add_argument("runs", nargs="+", help="bq_bench JSON files")
    args = parser.parse_args()
    meta = dict(item.split("=", 1) for item in args.meta)
    meta.setdefault("date", datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC"))

    cells, contexts, order, entries = load(args.runs)
    if not cells:
        sys.exit("report.py: no benchmark runs in %s" % ", ".join(args.runs))
    if args.registered and args.failed:
        mark_unfinished(cells, args.registered, args.failed, int(meta.get("repetitions", "1")))
        # A queue cut off before its first benchmark in every round is in no run's output.
        order += [q for q in dict.fromkeys(q for _, q in cells) if q not in order]
    known = [q for q, _ in QUEUES]
    queues = [(q, t) for q, t in QUEUES if q in order] + [(q, q) for q in order if q not in known]

    os.makedirs(args.out, exist_ok=True)
    write_markdown(os.path.join(args.out, "results.md"), cells, queues, meta, contexts)
    if args.readme:
        write_readme_section(args.readme, cells, queues, meta, contexts)
    machine = machine_info()
    write_svg(os.path.join(args.out, "chart.svg"), cells, queues,
              "%s%s; %s CPUs; %s; medians; %s" % (
                  meta.get("note", "").upper() + ": " if meta.get("note") else "", meta["date"],
                  machine.get("nproc"), machine.get("cpu", ""),
                  meta.get("command", "scripts/bench.sh")))
    # As load() read them: a run cut off by the time limit keeps what it completed here too.
    merged = {"meta": meta, "contexts": contexts, "benchmarks": entries}
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(merged, f, indent=1)
        f.write("\n")
    failed = sorted({"%s/%s" % k for k, c in cells.items() if c.errors})
    for name in failed:
        print("report.py: check failed in %s" % name, file=sys.stderr)
    for name in sorted("%s/%s" % k for k, c in cells.items() if c.unfinished):
        print("report.py: %s did not finish in %d repetitions" % (
            name, cells[tuple(name.split("/"))].unfinished), file=sys.stderr)
    print("report.py: wrote results.md, chart.svg, results.json to %s" % args.out)


if __name__ == "__main__":
    main()
