import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))


def mmusim_bin():
    """The mmusim executable: $MMUSIM_BIN (set by ctest) or build/mmusim."""
    return os.environ.get("MMUSIM_BIN", str(ROOT / "build" / "mmusim"))


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
