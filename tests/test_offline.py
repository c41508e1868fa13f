"""Importing cvkit and running the tour at smoke opens no network connection.

The tour runs in-process (execnb's shell, as nbdev's test runner does) in a fresh interpreter in which every
IPv4/IPv6 connection and DNS lookup raises. A real Jupyter kernel talks to its client over loopback TCP, which is why
the tour is not run through a kernel here."""
import subprocess
import sys

from conftest import ROOT

GUARD = r'''
import socket
def _refuse(*args, **kwargs):
    raise OSError("network access blocked by the offline test")
_connect = socket.socket.connect
def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(f"network connection to {address} blocked by the offline test")
    return _connect(self, address)
socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect
socket.getaddrinfo = _refuse
socket.create_connection = _refuse

# the guard works: a real attempt fails
import urllib.request
try:
    urllib.request.urlopen("http://example.com", timeout=5)
    raise SystemExit("guard failed: a connection was opened")
except OSError:
    pass
'''

RUN_TOUR = r'''
import cvkit, cvkit.core.settings, cvkit.core.claims, cvkit.core.display, cvkit.core.reproduce, cvkit.core.book
import cvkit.core.spectral, cvkit.core.diffusion, cvkit.core.motion, cvkit.core.backbones
import cvkit.tour
from execnb.nbio import read_nb
from execnb.shell import CaptureShell
nb = read_nb("00_tour.ipynb")
shell = CaptureShell()
shell.run_all(nb, exc_stop=True)
errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
assert not errors, errors
print("tour ran offline:", sum(c.cell_type == "code" for c in nb.cells), "code cells")
'''


def test_import_and_tour_open_no_connection():
    res = subprocess.run([sys.executable, "-c", GUARD + RUN_TOUR], cwd=ROOT / "nbs" / "chapters",
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "tour ran offline" in res.stdout
