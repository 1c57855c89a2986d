"""--memcg-depth / --memcg-charge-batch through the mmusim executable: the default (a login
session's cgroup, 3 levels below the root) charges every first touch, in batches, to 4
counters; the batch follows --kvm-version (32 before 6.1, 64 from it) unless given; depth 0
(the root cgroup) charges nothing; bad values exit 2 naming the option."""
from conftest import run_small as run


def test_default_charges_every_first_touch_in_batches_and_depth_0_nothing(tmp_path):
    _, d3 = run(tmp_path)
    pages = 4 * (1 << 20) // 4096
    assert d3["host.mm.memcg.charges"] == d3["host.mm.pages_installed"] == pages
    # The newest release: each vCPU's CPU charges a batch of 64 to the counters, then 63
    # charges from its stock.
    assert d3["host.mm.memcg.counter_charges"] == pages // 64
    assert d3["host.mm.memcg.stock_hits"] == pages - pages // 64
    _, old = run(tmp_path, "--kvm-version", "6.0")
    assert old["host.mm.memcg.counter_charges"] == pages // 32
    _, forced = run(tmp_path, "--kvm-version", "6.0", "--memcg-charge-batch", "64")
    assert forced["host.mm.memcg.counter_charges"] == pages // 64
    _, small = run(tmp_path, "--memcg-charge-batch", "32")
    assert small["host.mm.memcg.counter_charges"] == pages // 32
    _, d0 = run(tmp_path, "--memcg-depth", "0")
    assert d0["host.mm.memcg.charges"] == 0 and d0["host.mm.memcg.counter_charges"] == 0
    assert d0["host.mm.pages_installed"] == pages
    assert d0["check.violations"] == d3["check.violations"] == 0
    # The counters' lines cost time: one vCPU's faults take longer with them. (With 4 vCPUs
    # queued on one PTE lock the extra work also reorders the queue, which can go either way.)
    _, one3 = run(tmp_path, vcpus=1)
    _, one0 = run(tmp_path, "--memcg-depth", "0", vcpus=1)
    assert one3["sim.cycles"] > one0["sim.cycles"]


def test_bad_values_exit_2_naming_the_option(tmp_path):
    p, _ = run(tmp_path, "--memcg-depth", "17")
    assert p.returncode == 2 and "--memcg-depth" in p.stderr
    for bad in ("0", "sometimes"):
        p, _ = run(tmp_path, "--memcg-charge-batch", bad)
        assert p.returncode == 2 and "--memcg-charge-batch" in p.stderr
