"""A bug inside a run is not a user mistake: its traceback goes to a log file the panel names."""

from napari.qt.threading import create_worker


def test_an_unexpected_error_in_a_worker_names_its_log_file(dock, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_FASTSAM_LOG_DIR", str(tmp_path / "logs"))
    worker = create_worker(lambda: None, _start_thread=False)
    dock.controller.start(worker, "running...")
    with qtbot.capture_exceptions() as raised:  # superqt re-raises it too: napari's own traceback notification
        try:
            raise ZeroDivisionError("a bug in a run")
        except ZeroDivisionError as exc:  # as superqt hands a worker's exception to its errored signal
            worker.errored.emit(exc)
    assert [e[0] for e in raised] == [ZeroDivisionError]
    qtbot.waitUntil(lambda: not dock.busy, timeout=30_000)
    [log] = (tmp_path / "logs").iterdir()
    assert "ZeroDivisionError" in log.read_text() and "a bug in a run" in log.read_text()
    assert dock.status.is_error and str(log) in dock.status.value  # the full message, behind Details
