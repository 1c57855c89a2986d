"""docs/CALIBRATION.md and `mmusim --help` agree on which default latencies are assumptions:
every --lat-* row whose verdict is "unsourced" is marked in --help, and no other is."""
import re
import subprocess

from conftest import ROOT, mmusim_bin

NOTE = "[assumption: no public source, docs/CALIBRATION.md]"


def unsourced_rows():
    rows = set()
    for line in (ROOT / "docs" / "CALIBRATION.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`--lat-"):
            continue
        if cells[-1].startswith("unsourced"):
            rows.add(re.match(r"`--(lat-[a-z0-9-]+)`", cells[0]).group(1))
    return rows


def help_lines():
    out = subprocess.run([mmusim_bin(), "--help"], capture_output=True, text=True, check=True).stdout
    # Option lines start with two spaces and the option; a description may wrap onto
    # continuation lines, which are joined to their option.
    opts, current = {}, None
    for line in out.splitlines():
        m = re.match(r"  --(lat-[a-z0-9-]+) ", line)
        if m:
            current = m.group(1)
            opts[current] = line
        elif current and line.startswith("    "):
            opts[current] += " " + line.strip()
        else:
            current = None
    return opts


def test_every_unsourced_latency_is_marked_in_help_and_only_those():
    rows = unsourced_rows()
    opts = help_lines()
    assert len(rows) >= 20, rows  # the document's table was found and read
    assert rows <= set(opts), rows - set(opts)  # no stale row names an option that is gone
    marked = {name for name, text in opts.items() if NOTE in text}
    assert marked == rows, (sorted(marked - rows), sorted(rows - marked))
