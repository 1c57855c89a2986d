import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))


def mmusim_bin():
    """The mmusim executable: $MMUSIM_BIN (set by ctest) or build/mmusim."""
    return os.environ.get("MMUSIM_BIN", str(ROOT / "build" / "mmusim"))


def run_small(tmp_path, *args, vcpus=4):
    """mmusim on `vcpus` vCPUs x 1 MiB with `args`: the process and its stats (None if it
    failed)."""
    s = tmp_path / "s.json"
    p = subprocess.run([mmusim_bin(), "--vcpus", str(vcpus), "--mem-per-vcpu", "1M", "--quiet",
                        "--stats-json", str(s), *args], capture_output=True, text=True, timeout=300)
    return p, (json.loads(s.read_text()) if p.returncode == 0 else None)


def run_on_terminal(cmd, columns=200, timeout=600):
    """Runs cmd with stderr on a pseudo-terminal `columns` wide and stdout on a pipe; returns
    (exit code, stdout text, what the terminal got)."""
    import fcntl
    import pty
    import struct
    import subprocess
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal's other side closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    out = p.stdout.read().decode()
    return p.wait(timeout=timeout), out, seen.decode()
