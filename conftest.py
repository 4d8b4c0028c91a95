"""pytest hooks: print how long each notebook took under nbval (its cells' run time summed)."""
from __future__ import annotations

from collections import defaultdict

_NB_TIMES: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    if report.when == "call" and "::Cell " in report.nodeid:
        _NB_TIMES[report.nodeid.split("::")[0]] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _NB_TIMES:
        return
    terminalreporter.section("notebook execution times (nbval, cells summed)")
    for path, secs in sorted(_NB_TIMES.items()):
        flag = "  <-- over the 60 s budget" if secs > 60 else ""
        terminalreporter.write_line(f"{secs:7.1f} s  {path}{flag}")
