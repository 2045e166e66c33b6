"""Timing shared by the Python reference benchmarks: the same protocol svia's side uses."""
import time


def median_of_3(body):
    """One warm-up call, then three timed ones: (median wall seconds, mean CPU seconds per call)."""
    body()
    cpu0 = time.process_time()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        body()
        times.append(time.perf_counter() - t0)
    return sorted(times)[1], (time.process_time() - cpu0) / 3
