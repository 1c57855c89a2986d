"""--partition: the KVM selftests' memory layouts through the mmusim executable. on (default):
each vCPU faults in a slice of its own; off (the selftests' -o): every vCPU touches the same
--mem-per-vcpu region, so the vCPUs race on every page's first touch."""
from conftest import run_small as run


def test_off_puts_every_vcpu_on_the_same_pages(tmp_path):
    _, on = run(tmp_path, "--partition", "on")
    _, off = run(tmp_path, "--partition", "off")
    pages = (1 << 20) // 4096
    assert on["guest.accesses"] == off["guest.accesses"] == 4 * pages
    assert on["host.mm.pages_installed"] == on["host.mm.faults"] == 4 * pages
    assert off["host.mm.pages_installed"] == pages   # one backing page per shared page
    assert off["check.violations"] == 0 and on["check.violations"] == 0
    # Four vCPUs meet on each page: racing first touches each prepare a page and the losers
    # free theirs (do_anonymous_page); later vCPUs find the page through GUP's fast path.
    assert off["host.mm.fault_race_lost"] > 0 and on["host.mm.fault_race_lost"] == 0
    # (a fault may also find the page installed meanwhile and have nothing to do)
    assert off["host.mm.faults"] >= pages + off["host.mm.fault_race_lost"]
    assert off["host.mm.gup_fast"] > 0
    # The same layout as slices overlapping completely.
    _, full = run(tmp_path, "--overlap", "1")
    assert full == off


def test_bad_partition_values_exit_2_naming_the_option(tmp_path):
    p, _ = run(tmp_path, "--partition", "maybe")
    assert p.returncode == 2 and "--partition" in p.stderr and "on" in p.stderr and "off" in p.stderr
    p, _ = run(tmp_path, "--partition", "off", "--overlap", "0.5")
    assert p.returncode == 2 and "partition" in p.stderr and "--overlap" in p.stderr, p.stderr
