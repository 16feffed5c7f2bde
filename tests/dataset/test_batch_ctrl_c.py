"""Ctrl+C during a pooled batch: the first one is a request the loop honours at a safe point.

A KeyboardInterrupt raised inside ``concurrent.futures``' bookkeeping could leave a queue's
lock held, and the interpreter's exit then hung joining the executor's manager thread (two
hangs in about 280 interrupted scans; none in 210 since). The end-to-end check is
``test_scan_resume.py``; these pin the handler's contract with real signals.
"""

import os
import signal
import threading

import pytest

from logdrum.dataset.batch import _StopOnCtrlC


def test_first_ctrl_c_is_a_request_the_second_raises():
    before = signal.getsignal(signal.SIGINT)
    stop = _StopOnCtrlC()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested  # no KeyboardInterrupt: the loop stops between two waits
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        stop.restore()
    assert signal.getsignal(signal.SIGINT) is before


def test_outside_the_main_thread_nothing_is_installed():
    seen = {}

    def run():
        stop = _StopOnCtrlC()
        seen["handler"] = signal.getsignal(signal.SIGINT)
        stop.restore()

    before = signal.getsignal(signal.SIGINT)
    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen["handler"] is before
