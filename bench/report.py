#!/usr/bin/env python3
"""bench/report.py RESULTS_DIR [--docs docs/benchmarks.md] [--elapsed S]

Turns the JSON lines written by bench/run.sh into the table of figures against
the targets of issue 6, prints it, and (with --docs) replaces the generated
block of docs/benchmarks.md between the `<!-- results:begin -->` and
`<!-- results:end -->` markers (the hand-written analysis around it is kept).
Every figure is a ratio against a baseline measured in the same run, shown next
to the absolute numbers.
"""
import json
import os
import re
import sys

MIB = 1048576.0


def load(d, name):
    p = os.path.join(d, name + ".json")
    try:
        with open(p) as f:
            return json.loads(f.read().strip().split("\n")[0]) if name != "machine" else json.load(f)
    except (OSError, ValueError):
        return None


def quic_baseline(d, name="quic.txt"):
    """bench_quic prints MiB/s and ns/B per side."""
    out = {}
    try:
        txt = open(os.path.join(d, name)).read()
    except OSError:
        return out
    for name in ("quic", "tcp+tls"):
        m = re.search(r"^%s\s+([\d.]+) MB/s\s+[\d.]+ s\s+sender\s+([\d.]+) ns/B\s+receiver\s+([\d.]+) ns/B"
                      % re.escape(name), txt, re.M)
        if m:
            out[name] = {"MBps": float(m.group(1)) * MIB / 1e6, "tx_nsB": float(m.group(2)),
                         "rx_nsB": float(m.group(3))}
    return out


def fanout(d):
    """bench_fanout: sender ns/B per transport."""
    out = {}
    try:
        txt = open(os.path.join(d, "s2_fanout.txt")).read()
    except OSError:
        return out
    for m in re.finditer(r"^(quic|tcp\+tls|tcp)\s+sender\s+([\d.]+) ns/B.*?delivered (\d+) of (\d+) bytes(.*)$",
                         txt, re.M):
        if "FAILED" not in m.group(5):
            out[m.group(1)] = float(m.group(2))
    return out


def ns_per_byte(j):
    if not j or j.get("relay_cpu_s", -1) is None or j.get("relay_cpu_s", -1) < 0:
        return None
    b = j.get("bytes_rx", 0)
    return j["relay_cpu_s"] / b * 1e9 if b else None


def ietf_labels(d, scen):
    """The IETF rows of scenario scen in this run: [(label, draft)], e.g. ("s2ietf16", "16")."""
    out = []
    try:
        names = sorted(os.listdir(d))
    except OSError:
        return out
    for n in names:
        m = re.match(r"^%sietf(\d+)\.json$" % scen, n)
        if m:
            out.append(("%sietf%s" % (scen, m.group(1)), m.group(1)))
    return sorted(out, key=lambda x: int(x[1]))


def ietf_rows(d, scen, lite, title):
    """Issue 12: scenario scen with IETF clients, per delivered byte against the lite row of
    the same round; with IETF_ROUNDS > 1 (labels LABEL_rK beside SCEN_rK), the median of
    the rounds' ratios, every round's ratio in the detail."""
    R = []
    for label, draft in ietf_labels(d, scen):
        ratios, lost, rounds = [], 0, []
        k = 1
        while True:
            sfx = "" if k == 1 else "_r%d" % k
            j = load(d, label + sfx)
            lt = lite if k == 1 else load(d, scen + sfx)
            if j is None and k > 1:
                break
            nsb, ln = ns_per_byte(j), ns_per_byte(lt)
            if j and j.get("ok") and lt and nsb is not None and ln:
                ratios.append(nsb / ln)
                lost += j.get("groups_lost", 1)
                rounds.append((nsb, ln, j, lt))
            k += 1
        if not ratios:
            j = load(d, label)
            R.append(("%s, IETF draft %s" % (title, draft), "relay CPU per delivered byte ÷ moq-lite's",
                      "failed", "≤ 1.10", "MISS", "no result (%s)" % (j or {}).get("error", "missing")))
            continue
        order = sorted(range(len(ratios)), key=lambda i: ratios[i])
        mid = order[len(order) // 2]
        r = ratios[mid]
        nsb, ln, j, lt = rounds[mid]
        each = ", ".join("%.2f" % x for x in ratios)
        R.append(("%s, IETF draft %s" % (title, draft),
                  "relay CPU per delivered byte ÷ moq-lite's (same run%s)"
                  % ("" if len(ratios) == 1 else ", median of %d rounds" % len(ratios)),
                  "%.2f" % r, "≤ 1.10", verdict(r <= 1.10 and lost == 0),
                  "%sIETF %.2f ns/B vs lite %.2f ns/B; %d frames/s (lite %d, ×%.2f), lost %d, p99 %.1f ms (lite %.1f)"
                  % ("rounds %s; median round: " % each if len(ratios) > 1 else "",
                     nsb, ln, j["frames_per_s"], lt["frames_per_s"], j["frames_per_s"] / max(1, lt["frames_per_s"]),
                     lost, j.get("lat_p99_ms", 0), lt.get("lat_p99_ms", 0))))
    return R


def f(x, fmt="%.2f", none="n/a"):
    return none if x is None else fmt % x


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def rows(d):
    q = quic_baseline(d)
    quic = q.get("quic")
    tcp = q.get("tcp+tls")
    skipped = load(d, "skipped") or {}
    R = []  # (scenario, figure, value, target, verdict, detail)

    # ---- 1
    s1 = load(d, "s1_sub")
    s1p = load(d, "s1_pub")
    if s1 and quic:
        r = s1["MBps"] / quic["MBps"]
        R.append(("1 pub→relay→1 sub, 64 KiB frames", "goodput ÷ raw QUIC goodput", "%.2f" % r, "≥ 0.40",
                  verdict(r >= 0.40 and s1.get("groups_lost", 1) == 0 and s1.get("groups_aborted", 1) == 0),
                  "%.1f MB/s via relay (groups lost %d / reset %d, p99 %.1f ms) vs %.1f MB/s raw QUIC%s"
                  % (s1["MBps"], s1.get("groups_lost", -1), s1.get("groups_aborted", -1),
                     s1.get("lat_p99_ms", 0), quic["MBps"],
                     "; TCP+TLS %.1f MB/s" % tcp["MBps"] if tcp else "")))
    # ---- 2
    s2 = load(d, "s2")
    s2n = load(d, "s2_nginx")
    nsb = ns_per_byte(s2)
    if nsb is not None and quic:
        r = nsb / quic["tx_nsB"]
        q1452 = quic_baseline(d, "quic1452.txt").get("quic")
        R.append(("2 1 pub→relay→100 subs, 2 Mbit/s video", "relay CPU per GB ÷ raw QUIC sender CPU per GB",
                  "%.2f" % r, "≤ 1.3", verdict(r <= 1.3),
                  "relay %.2f CPU-s/GB (%.0f%% of a core, %.1f MB/s delivered, lost %d, p99 %.1f ms) vs "
                  "QUIC sender %.2f CPU-s/GB%s" % (nsb, s2["relay_cpu_s"] / s2["window_s"] * 100, s2["MBps"],
                                                   s2.get("groups_lost", -1), s2.get("lat_p99_ms", 0),
                                                   quic["tx_nsB"],
                                                   "; against the sender in 1,452-byte packets (%.2f CPU-s/GB): %.2f"
                                                   % (q1452["tx_nsB"], nsb / q1452["tx_nsB"]) if q1452 else "")))
    fo = fanout(d)
    if nsb is not None and "quic" in fo:
        R.append(("2 (floor) same traffic, transport alone", "relay CPU/B ÷ raw QUIC fan-out sender CPU/B",
                  "%.2f" % (nsb / fo["quic"]), "(no target)", "n/a",
                  "bench_fanout, no MoQ and no relay, 100 receivers: QUIC %.2f ns/B%s%s — the relay's own share is "
                  "what lies above the QUIC figure" % (
                      fo["quic"],
                      "; TCP+TLS %.2f ns/B (QUIC ÷ TCP+TLS %.2f)" % (fo["tcp+tls"], fo["quic"] / fo["tcp+tls"])
                      if "tcp+tls" in fo else "",
                      "; plain TCP %.2f ns/B (QUIC ÷ TCP %.2f)" % (fo["tcp"], fo["quic"] / fo["tcp"])
                      if "tcp" in fo else "")))
    ngx = ns_per_byte(s2n)
    if nsb is not None and ngx:
        r = nsb / ngx
        R.append(("2 (peer) same through nginx-rtmp", "relay CPU per delivered byte ÷ nginx-rtmp's", "%.2f" % r,
                  "≤ 1.5", verdict(r <= 1.5),
                  "moqc-relay %.2f ns/B (QUIC+TLS) vs nginx-rtmp %.2f ns/B (TCP, no TLS; %.1f MB/s to %d players)"
                  % (nsb, ngx, s2n["MBps"], s2n.get("subs_up", 0))))
    elif "s2_nginx" in skipped:
        R.append(("2 (peer) nginx-rtmp", "relay CPU/B ÷ nginx-rtmp's", "skipped", "≤ 1.5", "n/a",
                  skipped["s2_nginx"]))
    R += ietf_rows(d, "s2", s2, "2 (IETF) same traffic")
    # ---- 2 through a two-relay chain (issue 16): publisher -> A -> B -> 100 subscribers
    hop = load(d, "s2hop")
    if hop and nsb is not None and hop.get("relay_cpu_s", -1) >= 0 and hop.get("relay2_cpu_s", -1) >= 0 \
            and hop.get("bytes_rx"):
        b_ns = hop["relay_cpu_s"] / hop["bytes_rx"] * 1e9
        a_ns = hop["relay2_cpu_s"] / hop["bytes_rx"] * 1e9
        R.append(("2 (chain) pub→A→B→100 subs, same traffic", "both relays' CPU per delivered byte ÷ s2's (one relay)",
                  "%.2f" % ((a_ns + b_ns) / nsb), "(no target)", "n/a",
                  "A+B %.2f ns/B (A, one subscriber B: %.2f; B, 100 subscribers: %.2f; %.1f MB/s delivered, lost %d, "
                  "p99 %.1f ms) vs one relay %.2f ns/B in this run"
                  % (a_ns + b_ns, a_ns, b_ns, hop["MBps"], hop.get("groups_lost", -1), hop.get("lat_p99_ms", 0), nsb)))
    # ---- 3
    best = None
    curve = []
    for n in (10, 100, 500, 1000):
        j = load(d, "s3_%d" % n)
        if not j:
            continue
        ok = j.get("groups_lost", 1) == 0 and j.get("lat_p99_ms", 1e9) < 50 and j.get("subs_up", 0) == n
        if ok:
            best = n
        curve.append((n, j, ok))
    if curve:
        R.append(("3 1 Mbit/s video → N subs", "largest N with 0 lost groups and p99 < 50 ms",
                  str(best or 0), "≥ 500", verdict((best or 0) >= 500),
                  "curve below; N tried: %s" % ", ".join(str(c[0]) for c in curve)))
    ngx3 = []
    for n in (10, 100, 500, 1000):
        a, b = ns_per_byte(load(d, "s3_%d" % n)), ns_per_byte(load(d, "s3_nginx_%d" % n))
        if a is not None and b:
            ngx3.append((n, a, b, a / b))
    if ngx3:
        worst = max(x[3] for x in ngx3)
        R.append(("3 (peer) same through nginx-rtmp", "relay CPU/B ÷ nginx-rtmp's (worst N)", "%.2f" % worst,
                  "≤ 1.5", verdict(worst <= 1.5),
                  "; ".join("N=%d: %.2f vs %.2f ns/B (%.1fx)" % x for x in ngx3)))
    # ---- 4: median over interleaved rounds of (p99 via relay - p99 direct)
    pairs = []
    for r in range(1, 10):
        a, b = load(d, "s4_relay_%d_sub" % r), load(d, "s4_direct_%d_sub" % r)
        if a and b and a.get("lat_n") and b.get("lat_n"):
            pairs.append((a, b, a["lat_p99_ms"] - b["lat_p99_ms"]))
    if pairs:
        diffs = sorted(p[2] for p in pairs)
        diff = diffs[len(diffs) // 2] if len(diffs) % 2 else (diffs[len(diffs) // 2 - 1] + diffs[len(diffs) // 2]) / 2
        lost = sum(p[0].get("groups_lost", 1) + p[1].get("groups_lost", 1) for p in pairs)
        R.append(("4 100 subs, light load (audio 64 kbit/s)", "p99 via relay − p99 direct (median of %d rounds)" % len(pairs),
                  "%.2f ms" % diff, "≤ 1 ms", verdict(diff <= 1.0 and lost == 0),
                  "; ".join("round %d: relay p50/p99 %.2f/%.2f ms, direct %.2f/%.2f ms (%+.2f)"
                            % (k + 1, a["lat_p50_ms"], a["lat_p99_ms"], b["lat_p50_ms"], b["lat_p99_ms"], x)
                            for k, (a, b, x) in enumerate(pairs)) + "; lost groups %d" % lost))
    # ---- 5
    s5 = load(d, "s5")
    np_, nt = load(d, "s5_nats_plain"), load(d, "s5_nats_tls")
    if s5:
        det = "%d frames/s delivered (lost groups %d, p99 %.1f ms, relay %.0f%% of a core)" % (
            s5["frames_per_s"], s5.get("groups_lost", -1), s5.get("lat_p99_ms", 0),
            s5["relay_cpu_s"] / s5["window_s"] * 100 if s5.get("relay_cpu_s", -1) >= 0 else -1)
        if np_:
            det += "; nats-server plain %d/s (×%.2f)" % (np_["frames_per_s"], s5["frames_per_s"] / np_["frames_per_s"])
        if nt:
            det += ", TLS %d/s (×%.2f)" % (nt["frames_per_s"], s5["frames_per_s"] / nt["frames_per_s"])
        R.append(("5 chat bus 10 pubs × 10 subs, 100 B", "frames/s delivered", "%d" % s5["frames_per_s"],
                  "≥ 200,000", verdict(s5["frames_per_s"] >= 200000), det))
    R += ietf_rows(d, "s5", s5, "5 (IETF) same chat bus")
    # ---- 6
    s6 = load(d, "s6")
    if s6 and "relay_kb_per_session" in s6:
        v = s6["relay_kb_per_session"] * 1024 / 1000
        R.append(("6 1000 idle subscriber sessions", "relay RSS per session", "%.1f KB" % v, "≤ 100 KB",
                  verdict(v <= 100 and s6.get("sessions_up", 0) >= 990),
                  "%d sessions up; relay RSS %d → %d KiB (client side %.1f KiB/session)"
                  % (s6["sessions_up"], s6["relay_rss_before_kb"], s6["relay_rss_after_kb"],
                     s6["client_kb_per_session"])))
    # ---- 7
    s7 = load(d, "s7")
    try:
        samples = [tuple(map(int, l.split())) for l in open(os.path.join(d, "s7_rss.txt")).read().split("\n")[1:]
                   if len(l.split()) == 2]
    except OSError:
        samples = []
    if s7 and samples:
        base = s7.get("relay_rss_first_kb", samples[0][1])
        mx = max(s for _, s in samples)
        budget_kb = 32 * 1024
        cap_kb = 4 * 1024
        bound = base + budget_kb + cap_kb
        half = [s for t, s in samples if t > len(samples) // 2]
        growth = (max(half) - min(half)) if half else 0
        ok = mx <= bound and s7.get("groups_lost", 1) == 0
        R.append(("7 1 stalled sub (SIGSTOP) + 100 readers", "relay RSS max ÷ (start + cache budget + session cap)",
                  "%.2f" % (mx / bound), "≤ 1.00, 0 lost", verdict(ok),
                  "RSS start %d KiB, max %d KiB, end %d KiB over %d s (second half spread %d KiB); bound %d KiB "
                  "(32 MiB cache budget + 4 MiB max_queued_bytes); readers lost %d groups, p99 %.1f ms"
                  % (base, mx, samples[-1][1], len(samples), growth, bound, s7.get("groups_lost", -1),
                     s7.get("lat_p99_ms", 0))))
    # ---- 8
    s8 = load(d, "s8")
    if s8 and "sessions_per_s" in s8:
        R.append(("8 connection setup", "handshakes + sessions per second", "%d/s" % s8["sessions_per_s"],
                  "≥ 1,000/s", verdict(s8["sessions_per_s"] >= 1000),
                  "%d ok, %d failed; relay %.0f µs CPU per session, client %.0f µs"
                  % (s8["sessions_ok"], s8["sessions_failed"],
                     s8["relay_cpu_s"] / max(1, s8["sessions_ok"]) * 1e6,
                     s8["cpu_s"] / max(1, s8["sessions_ok"]) * 1e6)))
    return R, curve, q


def curve_table(d, curve):
    lines = ["| N subs | delivered | p50 | p99 | max | lost groups | relay CPU | relay ns/B | nginx-rtmp ns/B | "
             "2% loss: p50 / p99 / max, lost |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for n, j, ok in curve:
        ngx = ns_per_byte(load(d, "s3_nginx_%d" % n))
        l = load(d, "s3l_%d" % n)
        lossy = ("%.1f / %.1f / %.0f ms, %d" % (l["lat_p50_ms"], l["lat_p99_ms"], l["lat_max_ms"], l["groups_lost"])
                 if l and l.get("lat_n") else "—")
        lines.append("| %d%s | %.1f MB/s | %.1f ms | %.1f ms | %.0f ms | %d | %.0f%% | %s | %s | %s |" % (
            n, "" if ok else " ✗", j.get("MBps", 0), j.get("lat_p50_ms", 0), j.get("lat_p99_ms", 0),
            j.get("lat_max_ms", 0), j.get("groups_lost", -1),
            j["relay_cpu_s"] / j["window_s"] * 100 if j.get("relay_cpu_s", -1) >= 0 else -1,
            f(ns_per_byte(j)), f(ngx), lossy))
    return "\n".join(lines)


def render(d, elapsed):
    R, curve, q = rows(d)
    m = load(d, "machine") or {}
    out = []
    out.append("Run %s: %s, %s cores (%s), kernel %s, %s MB RAM, commit %s%s; all scenarios in %s s."
               % (os.path.basename(d), m.get("date", "?"), m.get("nproc", "?"), m.get("cpu", "?"),
                  m.get("kernel", "?"), m.get("mem_mb", "?"), m.get("commit", "?"),
                  " (QUICK=1: short windows)" if m.get("quick") else "", elapsed))
    try:
        la = [l.split() for l in open(os.path.join(d, "loadavg.txt")) if l.strip()]
        l1 = [float(x[2]) for x in la]
        out.append("")
        out.append("1-minute load average when each tool started: min %.1f, median %.1f, max %.1f on %s cores%s."
                   % (min(l1), sorted(l1)[len(l1) // 2], max(l1), m.get("nproc", "?"),
                      " — **other work was competing for the CPUs: latency figures are inflated**"
                      if max(l1) > 1.5 * float(m.get("nproc", 2)) else ""))
    except (OSError, ValueError):
        pass
    try:
        qs = [l.split() for l in open(os.path.join(d, "quiet.txt")) if l.strip()]
        busy = [int(x[2].split("=")[1]) for x in qs]
        waited = sum(int(x[3].split("=")[1]) for x in qs) / 2
        out.append("Other work's CPU use just before each scenario (both cores, 0.5 s sample): median %d%%, max %d%%; "
                   "waited %.0f s in total for quieter CPUs." % (sorted(busy)[len(busy) // 2], max(busy), waited))
    except (OSError, ValueError, IndexError):
        pass
    out.append("")
    out.append("| # | figure | value | target | | measured (absolute, same run) |")
    out.append("|---|---|---|---|---|---|")
    for sc, fig, val, tgt, v, det in R:
        out.append("| %s | %s | **%s** | %s | %s | %s |" % (sc, fig, val, tgt, v, det))
    if curve:
        out.append("")
        out.append("Scenario 3 curve (1 Mbit/s video, 30 fps, 60-frame groups; ✗ = misses the 0-loss / p99 < 50 ms bar):")
        out.append("")
        out.append(curve_table(d, curve))
    quic = q.get("quic")
    if quic:
        out.append("")
        out.append("Baseline (bench_quic, same run): raw QUIC %.1f MB/s, sender %.2f ns/B, receiver %.2f ns/B%s."
                   % (quic["MBps"], quic["tx_nsB"], quic["rx_nsB"],
                      "; TCP+TLS %.1f MB/s, sender %.2f ns/B" % (q["tcp+tls"]["MBps"], q["tcp+tls"]["tx_nsB"])
                      if "tcp+tls" in q else ""))
        q1452 = quic_baseline(d, "quic1452.txt").get("quic")
        if q1452:
            out.append("Raw QUIC sends 16,200-byte packets to a loopback peer (the default); in the at most 1,452-byte "
                       "packets of any other path it did %.1f MB/s, sender %.2f ns/B, receiver %.2f ns/B."
                       % (q1452["MBps"], q1452["tx_nsB"], q1452["rx_nsB"]))
    return "\n".join(out), R


def update_docs(path, block):
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    try:
        doc = open(path).read()
    except OSError:
        doc = "# Benchmarks\n\n%s\n%s\n" % (begin, end)
    if begin not in doc or end not in doc:
        doc += "\n%s\n%s\n" % (begin, end)
    pre, rest = doc.split(begin, 1)
    _, post = rest.split(end, 1)
    with open(path, "w") as fh:
        fh.write(pre + begin + "\n" + block + "\n" + end + post)


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    d = args[0]
    docs = None
    elapsed = "?"
    if "--docs" in args:
        docs = args[args.index("--docs") + 1]
    if "--elapsed" in args:
        elapsed = args[args.index("--elapsed") + 1]
    block, R = render(d, elapsed)
    print()
    print("=" * 100)
    for sc, fig, val, tgt, v, det in R:
        print("%-4s %-44s %-58s %12s  target %-14s %s" % (v, sc[:44], fig[:58], val, tgt, ""))
    print("=" * 100)
    print(block)
    if docs:
        update_docs(docs, block)
        print("\nwrote %s" % docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
