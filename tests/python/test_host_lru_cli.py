"""--host-lru-batch through the mmusim executable: every first touch joins the host's LRU list
through its CPU's batch, moved under lru_lock once per batch (31 pages in the newest release,
15 before 6.9); 0 keeps no lists; bad values exit 2 naming the option."""
from conftest import run_small as run


def test_every_new_page_joins_the_lru_list_in_batches_and_0_keeps_none(tmp_path):
    _, new = run(tmp_path)
    pages = 4 * (1 << 20) // 4096
    per_cpu = pages // 4
    assert new["host.mm.lru.adds"] == new["host.mm.pages_installed"] == pages
    # Each vCPU's CPU moves a full batch of 31 (256 = 8 x 31 + 8 left in the batch).
    assert new["host.mm.lru.batch_moves"] == 4 * (per_cpu // 31)
    assert new["host.mm.lru_lock.acquire"] == new["host.mm.lru.batch_moves"]
    _, old = run(tmp_path, "--kvm-version", "6.8")
    assert old["host.mm.lru.batch_moves"] == 4 * (per_cpu // 15)
    _, off = run(tmp_path, "--host-lru-batch", "0")
    assert off["host.mm.lru.adds"] == 0 and off["host.mm.lru_lock.acquire"] == 0
    # The batch's own reference: one more get per page with the lists.
    assert new["host.mm.refcount.get"] == off["host.mm.refcount.get"] + pages
    assert new["check.violations"] == off["check.violations"] == 0


def test_bad_values_exit_2_naming_the_option(tmp_path):
    for bad in ("256", "-1", "some"):
        p, _ = run(tmp_path, "--host-lru-batch", bad)
        assert p.returncode == 2 and "--host-lru-batch" in p.stderr


def test_thp_backed_host_events_run_clean(tmp_path):
    # A THP that KVM holds a reference on (between resolve and release) or that sits in an LRU
    # batch is not split by a host event: before, the split dropped that reference and the
    # release freed the whole 2 MiB page under its small mappings.
    for workload, event in (("swap-storm", "host.mm.swap_out"), ("ksm-merge", "host.mm.ksm_merge")):
        for batch in ("1", "auto"):
            p, s = run(tmp_path, "--workload", workload, "--backing", "THP",
                       "--host-lru-batch", batch)
            assert p.returncode == 0, p.stderr
            assert s["check.violations"] == 0 and s[event] > 0
