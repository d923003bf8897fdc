#!/usr/bin/env python3
"""The specification of bench/report.py, checked on small bq_bench runs written here.

Each test writes a few runs in the exact layout Google Benchmark 1.7 gives
`--benchmark_out_format=json` (the layout report.py's cut-off recovery relies on), runs
report.py as scripts/bench.sh does, and reads what it wrote. Standard library only:

    python3 bench/test_report.py        # or: python3 -m unittest discover -s bench -p 'test_*.py'
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree

REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.py")


def entry(scenario, queue, real_time=100.0, **fields):
    """One repetition, as bq_bench reports it (a run in its own process has repeats:1)."""
    name = "%s/%s/repeats:1/real_time" % (scenario, queue)
    run = {"name": name, "family_index": 0, "per_family_instance_index": 0, "run_name": name,
           "run_type": "iteration", "repetitions": 1, "repetition_index": 0, "threads": 1,
           "iterations": 1000, "real_time": real_time, "cpu_time": real_time, "time_unit": "ns"}
    run.update(fields)
    return run


def failed_entry(scenario, queue, message):
    return entry(scenario, queue, real_time=0.0, error_occurred=True, error_message=message)


def overload(scenario, queue, producer, delivered, label="native"):
    return entry(scenario, queue, real_time=2.8e8, producer_Mps=producer,
                 delivered_Mps=delivered, delivered_pct=50.0, age_items=1000.0, label=label)


def run_text(benchmarks, load=1.5):
    """A whole run file as Google Benchmark writes it: entries indented by four spaces."""
    return json.dumps({"context": {"date": "2026-12-07T00:00:00+00:00", "num_cpus": 2,
                                   "load_avg": [load, load, load]},
                       "benchmarks": benchmarks}, indent=2) + "\n"


class Report:
    """One report.py invocation and everything it wrote."""

    def __init__(self, directory, runs, registered=None, failed=None, repetitions=None):
        paths = []
        for i, text in enumerate(runs):
            paths.append(os.path.join(directory, "run%d.json" % i))
            with open(paths[-1], "w", encoding="utf-8") as f:
                f.write(text)
        out = os.path.join(directory, "out")
        command = [sys.executable, REPORT, "--out", out, "--meta", "date=2026-12-07 00:00 UTC",
                   "--readme", os.path.join(directory, "section.md")]
        if repetitions:
            command += ["--meta", "repetitions=%d" % repetitions]
        if registered is not None:
            command += ["--registered", self._write(directory, "registered.txt", registered),
                        "--failed", self._write(directory, "failed.txt", failed)]
        done = subprocess.run(command + paths, capture_output=True, text=True, check=False)
        self.status, self.stderr = done.returncode, done.stderr
        self.markdown = self._read(out, "results.md")
        self.section = self._read(directory, "section.md")
        self.svg = self._read(out, "chart.svg")
        json_text = self._read(out, "results.json")
        self.json = json.loads(json_text) if json_text else None

    @staticmethod
    def _write(directory, name, lines):
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        return path

    @staticmethod
    def _read(directory, name):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as f:
            return f.read()

    def row(self, title_part, table_start="| queue | 1P1C Mitems/s | 2P2C"):
        """The cells of the row whose queue title contains title_part, in the table that
        starts with table_start."""
        table = self.markdown[self.markdown.index(table_start):]
        table = table[:table.index("\n\n")]
        for line in table.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if title_part in cells[0]:
                return cells
        raise AssertionError("no row %r in:\n%s" % (title_part, table))

    def target(self, what_part, compared):
        """The cells of the targets table row for (what, compared)."""
        targets = self.markdown[self.markdown.index("## Targets"):]
        for line in targets.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 5 and what_part in cells[0] and cells[1] == compared:
                return cells
        raise AssertionError("no target %r / %r in:\n%s" % (what_part, compared, targets))


MAIN = "| queue | 1P1C Mitems/s | 2P2C"
OVERLOAD = "| queue | 1P1C producer Mitems/s"
BATCH = "| queue | 1P1C Mitems/s | 1P1C in batches"


class ReportTest(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.dir = self._dir.name

    def tearDown(self):
        self._dir.cleanup()

    def report(self, runs, **kwargs):
        report = Report(self.dir, runs, **kwargs)
        self.assertEqual(report.status, 0, report.stderr)
        return report

    # -- numbers ------------------------------------------------------------------------------

    def test_a_cell_is_the_median_of_every_round_with_the_range_for_throughput(self):
        rounds = [run_text([entry("throughput_1p1c", "bq_mpmc", items_per_second=rate),
                            entry("push_pop_1thread", "bq_mpmc", real_time=ns)])
                  for rate, ns in ((10e6, 12.0), (30e6, 11.0), (20e6, 50.0))]
        row = self.report(rounds, repetitions=3).row("BoundedQueue&lt;Block, Mpmc&gt;")
        self.assertEqual(row[1], "20.0 (10.0-30.0)")  # Mitems/s: median (min-max)
        self.assertEqual(row[3], "12.0")  # ns: the median, not the mean (24.3)

    def test_times_in_other_units_are_reported_in_nanoseconds(self):
        run = run_text([entry("push_pop_1thread", "bq_mpmc", real_time=0.015, time_unit="us"),
                        entry("push_pop_1thread", "ck_ring_mpmc", real_time=12.0)])
        report = self.report([run])
        self.assertEqual(report.row("Mpmc&gt;")[3], "15.0")
        self.assertEqual(report.target("one-thread push+pop", "bq_mpmc vs ck_ring_mpmc")[2],
                         "1.25x (15.0 vs 12.0)")

    def test_a_failed_item_check_replaces_the_number_and_leaves_the_target_unmeasured(self):
        rounds = [run_text([entry("push_pop_1thread", "bq_mpmc", real_time=10.0),
                            entry("push_pop_1thread", "ck_ring_mpmc", real_time=12.0)]),
                  run_text([failed_entry("push_pop_1thread", "bq_mpmc", "3 items lost"),
                            entry("push_pop_1thread", "ck_ring_mpmc", real_time=12.0)])]
        report = self.report(rounds, repetitions=2)
        self.assertEqual(report.row("Mpmc&gt;")[3], "**check failed** (1/2 reps): 3 items lost")
        self.assertEqual(report.target("one-thread push+pop", "bq_mpmc vs ck_ring_mpmc")[2:4],
                         ["not measured", "<= 1x"])
        self.assertIn("check failed in push_pop_1thread/bq_mpmc", report.stderr)

    def test_a_queue_without_an_operation_shows_a_dash(self):
        run = run_text([entry("throughput_1p1c", "bq_mpmc", items_per_second=1e7),
                        entry("throughput_1p1c", "boost_spsc_queue", items_per_second=2e7)])
        row = self.report([run]).row("boost::lockfree::spsc_queue")
        self.assertEqual(row[1], "20.0")
        self.assertEqual(row[2:], ["-"] * 8)  # 7 more scenarios and "held"

    def test_held_and_the_emulated_and_spinning_labels_are_shown(self):
        run = run_text([
            entry("drop_oldest_full", "ck_ring_mpmc", real_time=14.7, held=1023.0,
                  label="emulated: try_pop+try_push"),
            entry("blocked_consumer_cpu", "ck_ring_mpmc", cpu_ms=990.0, label="spins"),
            entry("blocked_consumer_cpu", "bq_mpmc", cpu_ms=0.2, label="parks on a futex")])
        report = self.report([run])
        ck = report.row("ck_ring (MPMC ops)")
        self.assertEqual((ck[4], ck[6], ck[9]), ("14.7 emulated", "990 (spins)", "1023"))
        self.assertEqual(report.row("Mpmc&gt;")[6], "0.200")

    def test_push_for_cells_show_the_time_it_took_not_the_time_asked(self):
        run = run_text([entry("push_for_1ms", "bq_mpmc", actual_us=1090.0, requested_us=1000.0),
                        entry("push_for_10ms", "bq_mpmc", actual_us=10120.0,
                              requested_us=10000.0)])
        self.assertEqual(self.report([run]).row("Mpmc&gt;")[7:9], ["1.09", "10.1"])

    def test_held_is_what_a_failed_try_push_found_when_the_queue_has_one(self):
        run = run_text([entry("try_push_full", "mc_readerwriterqueue", real_time=2.0, held=2044.0),
                        entry("drop_oldest_full", "mc_readerwriterqueue", real_time=9.0,
                              held=1791.0, label="emulated: try_pop+try_push")])
        self.assertEqual(self.report([run]).row("ReaderWriterQueue")[9], "2044")

    # -- targets ------------------------------------------------------------------------------

    def test_targets_compare_medians_in_the_direction_each_one_asks(self):
        run = run_text([entry("drop_oldest_full", "bq_mpmc", real_time=27.0),
                        entry("drop_oldest_full", "spdlog_mpmc_blocking_q", real_time=18.0),
                        entry("throughput_2p2c", "bq_mpmc", items_per_second=45e6),
                        entry("throughput_2p2c", "tbb_bounded_queue", items_per_second=6e6)])
        report = self.report([run])
        lower = report.target("drop-oldest push into a full queue",
                              "bq_mpmc vs spdlog_mpmc_blocking_q")
        self.assertEqual(lower[2:], ["1.50x (27.0 vs 18.0)", "<= 1x", "missed by 50%"])
        higher = report.target("2P2C", "bq_mpmc vs tbb_bounded_queue")
        self.assertEqual(higher[2:], ["7.50x (45.0 vs 6.00)", ">= 3x", "met"])

    def test_issue_11_sets_a_one_thread_goal_per_concurrency_mode(self):
        run = run_text([entry("drop_oldest_full", "bq_mpmc", real_time=16.0),
                        entry("drop_oldest_full", "bq_spsc", real_time=9.0),
                        entry("drop_oldest_full", "spdlog_mpmc_blocking_q", real_time=16.0),
                        entry("push_pop_1thread", "bq_spsc", real_time=3.0),
                        entry("push_pop_1thread", "boost_spsc_queue", real_time=1.0)])
        report = self.report([run])
        full = "drop-oldest push into a full queue (ns) (issue 11)"
        self.assertEqual(report.target(full, "bq_mpmc vs spdlog_mpmc_blocking_q")[2:],
                         ["1.00x (16.0 vs 16.0)", "<= 1x", "met"])
        self.assertEqual(report.target(full, "bq_spsc vs spdlog_mpmc_blocking_q")[2:],
                         ["0.56x (9.00 vs 16.0)", "<= 0.5x", "missed by 12%"])
        self.assertEqual(report.target("one-thread push+pop (ns) (issue 11)",
                                       "bq_spsc vs boost_spsc_queue")[2:],
                         ["3.00x (3.00 vs 1.00)", "<= 2x", "missed by 50%"])

    def test_a_near_miss_is_not_rounded_to_zero(self):
        run = run_text([entry("throughput_1p1c", "bq_mpmc", items_per_second=9.96e6),
                        entry("throughput_1p1c", "aq_atomicqueue", items_per_second=10e6)])
        self.assertEqual(self.report([run]).target("1P1C, MPMC mode", "bq_mpmc vs aq_atomicqueue")[4],
                         "missed by 0.4%")

    def test_spsc_mode_is_compared_with_the_fastest_spsc_peer(self):
        run = run_text([entry("throughput_1p1c", "bq_spsc", items_per_second=30e6),
                        entry("throughput_1p1c", "boost_spsc_queue", items_per_second=20e6),
                        entry("throughput_1p1c", "aq_atomicqueue2_spsc", items_per_second=40e6),
                        entry("throughput_1p1c", "aq_atomicqueue", items_per_second=90e6)])
        row = self.report([run]).target("1P1C, SPSC mode", "bq_spsc vs aq_atomicqueue2_spsc")
        self.assertEqual(row[2:], ["0.75x (30.0 vs 40.0)", ">= 1x", "missed by 25%"])

    def test_batch_targets_divide_by_the_same_modes_single_item_rate(self):
        run = run_text([entry("throughput_1p1c", "bq_spsc", items_per_second=50e6),
                        entry("throughput_batch32_1p1c", "bq_spsc", items_per_second=160e6),
                        entry("throughput_batch32_1p1c", "mc_concurrentqueue",
                              items_per_second=40e6)])
        report = self.report([run])
        self.assertEqual(report.target("batches of 32 vs single", "bq_spsc batch32 vs bq_spsc single")
                         [2:], ["3.20x (160 vs 50.0)", ">= 3x", "met"])
        self.assertEqual(report.target("batches of 32 vs moodycamel", "bq_spsc vs mc_concurrentqueue")
                         [2], "4.00x (160 vs 40.0)")
        # The batch table has the queue; the main table does not list the batch-only peer.
        self.assertEqual(report.row("moodycamel ConcurrentQueue", BATCH)[1:], ["-", "40.0", "-"])
        self.assertNotIn("ConcurrentQueue (bulk calls) |", report.markdown[
            report.markdown.index(MAIN):report.markdown.index(OVERLOAD)])

    def test_the_metrics_overhead_is_measured_against_the_idle_third_thread(self):
        run = run_text([entry("throughput_1p1c", "bq_spsc", items_per_second=100e6),
                        entry("throughput_1p1c_idle_reader", "bq_spsc", items_per_second=80e6),
                        entry("throughput_1p1c_metrics_reader", "bq_spsc", items_per_second=75.96e6)])
        lines = [l for l in self.report([run]).markdown.splitlines()
                 if l.startswith("| metrics overhead")]
        self.assertEqual(len(lines), 4)  # bq_mpmc's two, then bq_spsc's
        self.assertTrue(lines[0].endswith("| bq_mpmc | not measured | < 5% | - |"), lines[0])
        self.assertIn("| 24.0% (76.0 vs 100 Mitems/s) | < 5% | missed by 19.0 points |", lines[2])
        # A near miss is not rounded to "missed by 0.0 points".
        self.assertIn("| 5.1% (76.0 vs 80.0 Mitems/s) | < 5% | missed by 0.05 points |", lines[3])

    def test_a_target_whose_benchmark_did_not_run_says_not_measured(self):
        report = self.report([run_text([entry("throughput_1p1c", "my_queue", items_per_second=1e6)])])
        rows = report.markdown[report.markdown.index("## Targets"):].splitlines()[4:]
        self.assertEqual(len(rows), 26)  # every target keeps its row
        self.assertTrue(all("| not measured |" in row for row in rows), "\n".join(rows))

    def test_the_waiting_consumer_target_holds_every_repetition_under_1_ms(self):
        runs = [run_text([entry("blocked_consumer_cpu", "bq_mpmc", cpu_ms=ms, label="parks")])
                for ms in (0.2, 0.3, 1.2)]
        self.assertEqual(self.report(runs, repetitions=3).target("waiting consumer CPU", "bq_mpmc")
                         [2:], ["0.300 ms (max 1.20)", "< 1 ms", "missed"])
        runs[2] = run_text([entry("blocked_consumer_cpu", "bq_mpmc", cpu_ms=0.9, label="parks")])
        self.assertEqual(self.report(runs, repetitions=3).target("waiting consumer CPU", "bq_mpmc")
                         [4], "met")

    def test_the_2p2c_spread_target_compares_bqs_min_max_spread_with_each_peers(self):
        def runs(ours):
            return [run_text([entry("throughput_2p2c", "bq_mpmc", items_per_second=r),
                              entry("throughput_2p2c", "tbb_bounded_queue", items_per_second=t)])
                    for r, t in zip(ours, (5e6, 6e6, 7e6))]  # tbb: 2/6 = 33%
        narrow = self.report(runs((39e6, 40e6, 41e6)), repetitions=3)
        self.assertEqual(narrow.target("2P2C min-max spread", "bq_mpmc vs tbb_bounded_queue")[2:],
                         ["5% vs 33%", "<= each", "met"])
        wide = self.report(runs((20e6, 40e6, 41e6)), repetitions=3)
        self.assertEqual(wide.target("2P2C min-max spread", "bq_mpmc vs tbb_bounded_queue")[4],
                         "missed")

    # -- overload -----------------------------------------------------------------------------

    def test_overload_rows_show_every_counters_median(self):
        rounds = [run_text([overload("overload_1p1c", "bq_spsc", p, d),
                            overload("overload_1p1c", "ck_ring_mpmc", 7.4, 1.8,
                                     label="emulated: try_pop+try_push")])
                  for p, d in ((26.0, 1.9), (10.0, 1.7), (12.0, 2.1))]
        report = self.report(rounds, repetitions=3)
        self.assertEqual(report.row("Spsc&gt;", OVERLOAD)[1:5], ["12.0", "1.90", "50.0", "1000"])
        self.assertEqual(report.row("ck_ring (MPMC ops)", OVERLOAD)[1], "7.40 emulated")
        self.assertEqual(report.row("Spsc&gt;", OVERLOAD)[5:], ["-"] * 4)  # no 2P1C run

    def test_the_delivered_target_compares_with_the_better_native_peer(self):
        run = run_text([overload("overload_1p1c", "bq_mpmc", 4.0, 1.5),
                        overload("overload_1p1c", "spdlog_mpmc_blocking_q", 8.0, 1.2),
                        overload("overload_1p1c", "mutex_ring", 12.0, 2.0)])
        report = self.report([run])
        self.assertEqual(report.target("consumer delivered rate",
                                       "bq_mpmc vs mutex_ring (the better)")[2:],
                         ["0.75x (1.50 vs 2.00)", ">= 1x", "missed by 25%"])
        self.assertEqual(report.target("overload 1P1C producer rate",
                                       "bq_mpmc vs spdlog_mpmc_blocking_q")[2],
                         "0.50x (4.00 vs 8.00)")
        near = self.report([run_text([overload("overload_1p1c", "bq_spsc", 4.0, 1.996),
                                      overload("overload_1p1c", "mutex_ring", 12.0, 2.0)])])
        self.assertEqual(near.target("consumer delivered rate",
                                     "bq_spsc vs mutex_ring (the better)")[4], "missed by 0.2%")

    def test_the_2p1c_target_compares_producer_rates_with_spdlog(self):
        run = run_text([overload("overload_2p1c", "bq_mpmc", 6.0, 1.5),
                        overload("overload_2p1c", "spdlog_mpmc_blocking_q", 5.0, 1.2),
                        overload("overload_2p1c", "mutex_ring", 1.0, 1.0)])
        self.assertEqual(self.report([run]).target("overload 2P1C producer rate",
                                                   "bq_mpmc vs spdlog_mpmc_blocking_q")[2:],
                         ["1.20x (6.00 vs 5.00)", ">= 2x", "missed by 40%"])

    def test_a_failed_overload_check_shows_in_every_counter_of_its_scenario(self):
        run = run_text([overload("overload_1p1c", "aq_atomicqueue", 9.0, 1.0),
                        failed_entry("overload_2p1c", "aq_atomicqueue", "407542 items arrived "
                                     "after a later item of their producer")])
        row = self.report([run]).row("AtomicQueue", OVERLOAD)
        self.assertEqual(row[1], "9.00")
        self.assertEqual(row[5:], ["**check failed**: 407542 items arrived after a later item "
                                   "of their producer"] * 4)

    # -- runs that did not complete -----------------------------------------------------------

    def test_a_run_cut_off_mid_write_keeps_its_completed_benchmarks(self):
        whole = run_text([entry("throughput_1p1c", "ck_ring_mpmc", items_per_second=9e6),
                          entry("push_pop_1thread", "ck_ring_mpmc", real_time=11.8),
                          entry("drop_oldest_full", "ck_ring_mpmc", real_time=14.7)])
        cut = whole[:whole.index('"drop_oldest_full') + 20]  # killed while writing the third
        report = self.report([cut])
        self.assertEqual(report.row("ck_ring (MPMC ops)")[1:5], ["9.00", "-", "11.8", "-"])
        self.assertIn("was cut off; kept its 2 completed benchmarks", report.stderr)
        self.assertEqual(report.stderr.count("was cut off"), 1)
        self.assertEqual([b["run_name"].split("/")[0] for b in report.json["benchmarks"]],
                         ["throughput_1p1c", "push_pop_1thread"])

    def test_a_run_cut_off_between_benchmarks_keeps_every_completed_one(self):
        # What timeout(1) leaves: the last entry closed, the next never begun.
        whole = run_text([entry("throughput_1p1c", "ck_ring_mpmc", items_per_second=9e6),
                          entry("push_pop_1thread", "ck_ring_mpmc", real_time=11.8),
                          entry("drop_oldest_full", "ck_ring_mpmc", real_time=14.7)])
        cut = whole[:whole.index(",\n    {", whole.index('"push_pop_1thread'))]
        self.assertTrue(cut.endswith('"time_unit": "ns"\n    }'), cut[-40:])
        report = self.report([cut])
        self.assertEqual(report.row("ck_ring (MPMC ops)")[1:5], ["9.00", "-", "11.8", "-"])
        self.assertIn("kept its 2 completed benchmarks", report.stderr)

    def test_a_queue_cut_off_before_its_first_benchmark_in_every_round_keeps_its_row(self):
        registered = ["%s/tbb_bounded_queue/repeats:2/real_time" % s
                      for s in ("throughput_1p1c", "throughput_2p2c")]
        head = run_text([])
        cut = head[:head.index('"benchmarks"')] + '"benchmarks": [\n'
        runs = [run_text([entry("throughput_2p2c", "bq_mpmc", items_per_second=4e7)]), cut, cut]
        report = Report(self.dir, runs, registered=registered,
                        failed=["tbb_bounded_queue 1 124", "tbb_bounded_queue 2 124"],
                        repetitions=2)
        self.assertEqual(report.status, 0, report.stderr)
        self.assertEqual(report.row("oneTBB")[1:3],
                         ["**did not finish** (cut off by the time limit, 2/2 reps)"] * 2)

    def test_benchmarks_a_cut_off_process_never_reached_did_not_finish(self):
        queues = ("ck_ring_mpmc", "ck_ring_spsc", "boost_queue")
        registered = ["%s/%s/repeats:3/real_time" % (s, q) for q in queues
                      for s in ("throughput_1p1c", "push_pop_1thread", "try_push_full", "overload_2p1c")]
        first = lambda q: entry("throughput_1p1c", q, items_per_second=9e6)
        runs = [run_text([first(q)]) for q in queues for _ in range(3)]  # one per round
        # ck_ring_spsc's third round completed; its first two were cut off.
        runs[5] = run_text([first("ck_ring_spsc"), entry("try_push_full", "ck_ring_spsc", real_time=2.0),
                            overload("overload_2p1c", "ck_ring_spsc", 5.0, 1.0)])
        failed = ["ck_ring_mpmc 1 124", "ck_ring_mpmc 2 124", "ck_ring_mpmc 3 124",
                  "ck_ring_spsc 1 124", "ck_ring_spsc 2 124",
                  "boost_queue 1 134", "boost_queue 2 124", "boost_queue 3 134"]
        report = self.report(runs, registered=registered, failed=failed, repetitions=3)
        mpmc = report.row("ck_ring (MPMC ops)")
        self.assertEqual(mpmc[1], "9.00 (9.00-9.00)")
        self.assertEqual(mpmc[5], "**did not finish** (cut off by the time limit, 3/3 reps)")
        self.assertEqual(mpmc[2], "-")  # not registered for this queue: no such operation
        self.assertEqual(report.row("ck_ring (MPMC ops)", OVERLOAD)[5],
                         "**did not finish** (cut off by the time limit, 3/3 reps)")
        self.assertEqual(report.row("ck_ring (SPSC ops)")[5], "2.00 (1 of 3 reps)")
        self.assertEqual(report.row("ck_ring (SPSC ops)", OVERLOAD)[5], "5.00 (1 of 3 reps)")
        self.assertEqual(report.row("boost::lockfree::queue")[5],
                         "**did not finish** (exit code 124, 134, 3/3 reps)")
        self.assertIn("try_push_full/ck_ring_mpmc did not finish in 3 repetitions", report.stderr)
        self.assertEqual(report.row("ck_ring (MPMC ops)")[3],
                         "**did not finish** (cut off by the time limit, 3/3 reps)")
        # The chart's one-thread push+pop panel says so too.
        self.assertIn("did not finish", list(xml.etree.ElementTree.fromstring(report.svg).itertext()))

    def test_a_queue_whose_processes_all_exited_cleanly_is_never_marked_unfinished(self):
        registered = ["try_push_full/mutex_ring/repeats:1/real_time"]
        run = run_text([entry("throughput_1p1c", "mutex_ring", items_per_second=5e6)])
        report = self.report([run], registered=registered, failed=[], repetitions=1)
        self.assertEqual(report.row("std::mutex")[5], "-")
        self.assertNotIn("**did not finish**", report.markdown)

    # -- outputs ------------------------------------------------------------------------------

    def test_every_output_is_written_and_the_chart_is_well_formed_svg(self):
        run = run_text([entry("throughput_1p1c", "bq_mpmc", items_per_second=2e7),
                        entry("throughput_1p1c", "my_queue", items_per_second=1e7),
                        failed_entry("throughput_1p1c", "mutex_ring", "lost 1")])
        report = self.report([run])
        texts = list(xml.etree.ElementTree.fromstring(report.svg).itertext())
        self.assertIn("bq BoundedQueue<Block, Mpmc>", texts)
        self.assertIn("check failed", texts)
        self.assertEqual(report.row("my_queue")[1], "10.0")  # unknown ids: appended by id
        self.assertEqual(report.json["meta"]["date"], "2026-12-07 00:00 UTC")
        self.assertIn(report.row("my_queue")[1], report.section)  # the README section too
        self.assertIn("load average when each process started: 1.50-1.50", report.section)

    def test_the_same_runs_give_byte_identical_outputs(self):
        registered = ["try_push_full/%s/repeats:2/real_time" % q for q in ("ck_ring_mpmc", "boost_queue")]
        runs = [run_text([entry("throughput_1p1c", q, items_per_second=r * 1e6),
                          overload("overload_1p1c", q, r, 1.5)])
                for q in ("bq_mpmc", "ck_ring_mpmc", "boost_queue", "my_queue") for r in (3, 4)]
        failed = ["boost_queue 2 134", "ck_ring_mpmc 1 124", "boost_queue 1 124", "ck_ring_mpmc 2 9"]
        first = Report(self.dir, runs, registered, failed, repetitions=2)
        second = Report(self.dir, runs, registered, failed, repetitions=2)
        self.assertEqual(first.status, 0, first.stderr)
        self.assertIn("exit code 9, 124", first.markdown)
        self.assertEqual((first.markdown, first.section, first.svg, first.json),
                         (second.markdown, second.section, second.svg, second.json))

    def test_results_json_holds_every_repetition_as_read(self):
        runs = [[entry("throughput_1p1c", "bq_mpmc", items_per_second=2e7, label="x")],
                [failed_entry("throughput_1p1c", "bq_mpmc", "lost 1"),
                 overload("overload_1p1c", "bq_mpmc", 4.0, 1.5)]]
        report = self.report([run_text(r, load=1.0 + i) for i, r in enumerate(runs)])
        self.assertEqual(report.json["benchmarks"], runs[0] + runs[1])
        self.assertEqual([c["load_avg"][0] for c in report.json["contexts"]], [1.0, 2.0])

    def test_the_readme_section_has_the_tables_and_the_targets(self):
        run = run_text([entry("push_pop_1thread", "bq_mpmc", real_time=15.0),
                        entry("push_pop_1thread", "ck_ring_mpmc", real_time=12.0)])
        report = self.report([run])
        self.assertIn("| one-thread push+pop (ns) | bq_mpmc vs ck_ring_mpmc | 1.25x (15.0 vs 12.0) "
                      "| <= 1x | missed by 25% |", report.section)
        self.assertIn("](bench/README.md)", report.section)  # links from the top of the repository
        self.assertNotIn("../../bench", report.section)

    def test_chart_bars_are_proportional_to_the_medians(self):
        run = run_text([entry("throughput_1p1c", q, items_per_second=r)
                        for q, r in (("bq_mpmc", 40e6), ("mutex_ring", 10e6), ("my_queue", 20e6))])
        svg = xml.etree.ElementTree.fromstring(self.report([run]).svg)
        widths = [float(r.get("width")) for r in svg.iter("{http://www.w3.org/2000/svg}rect")
                  if r.get("class", "").startswith("bar")]
        self.assertEqual(len(widths), 3)
        self.assertAlmostEqual(widths[1] / widths[0], 0.25)  # the table's order: bq, mutex, mine
        self.assertAlmostEqual(widths[2] / widths[0], 0.5)

    def test_no_readable_run_is_an_error_that_names_the_files(self):
        report = Report(self.dir, ["not json at all"])
        self.assertNotEqual(report.status, 0)
        self.assertIn("skipping", report.stderr)
        self.assertIn("no benchmark runs in", report.stderr)
        self.assertIn("run0.json", report.stderr)


if __name__ == "__main__":
    unittest.main()
