"""Outputs under a lock (issue 24): two writers to one folder never both succeed, a symbolic
link is never replaced, and a full disk is one line naming the folder, the previous output
intact. The writers are real processes writing real files."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rnn_zoo.errors import OutputBusyError, OutputExistsError
from rnn_zoo.outputs import EXPORT_MARKER, atomic_directory, check_destination, claim, lock_path

ROOT = Path(__file__).resolve().parents[1]

# A writer of one export-like output: it waits for the start file, writes its own id into
# the staging folder, holds it for a moment (a real export takes seconds), and reports.
WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from rnn_zoo.errors import OutputBusyError
    from rnn_zoo.outputs import atomic_directory, write_export_marker
    target, start, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    while not start.exists():
        time.sleep(0.005)
    try:
        with atomic_directory(target, kind="export") as staging:
            (staging / "writer.txt").write_text(name)
            write_export_marker(staging, "letters_4pre1", "test")
            time.sleep(1.5)
    except OutputBusyError as e:
        print(json.dumps({"name": name, "refused": str(e)}))
    else:
        print(json.dumps({"name": name, "wrote": True}))
    """
)


def _writers(target: Path, start: Path, names: list[str]) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), str(start), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for name in names
    ]


@pytest.mark.backend_free
def test_two_writers_to_one_out_never_both_succeed(tmp_path):
    for attempt in range(3):
        target, start = tmp_path / f"out{attempt}", tmp_path / f"go{attempt}"
        procs = _writers(target, start, ["a", "b"])
        time.sleep(1.0)  # both started and waiting
        start.touch()
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            reports.append(json.loads(out))
        winners = [r["name"] for r in reports if r.get("wrote")]
        refused = [r["refused"] for r in reports if "refused" in r]
        assert len(winners) == 1 and len(refused) == 1, reports
        assert str(target) in refused[0] and "being written by process" in refused[0]
        assert (target / "writer.txt").read_text() == winners[0]  # the winner's output, whole
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(f".out{attempt}")) == []


@pytest.mark.backend_free
def test_the_claim_is_reentrant_in_one_thread_and_refuses_another(tmp_path):
    target = tmp_path / "run"
    with claim(target):
        assert lock_path(target).is_file() and lock_path(target).parent == tmp_path  # beside, never inside
        with atomic_directory(target, kind="export") as staging:  # the same thread: its own claim
            (staging / EXPORT_MARKER).write_text(json.dumps({"task": "letters_4pre1", "rnn_zoo": "0"}))
        failures = []

        def other():
            try:
                with atomic_directory(target, kind="export"):
                    pass
            except OutputBusyError as e:
                failures.append(str(e))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert len(failures) == 1 and "another thread" in failures[0]
        assert (target / EXPORT_MARKER).is_file()  # still held: the write inside it happened
    assert not lock_path(target).exists()  # released, and the lock file gone


@pytest.mark.backend_free
def test_a_claim_removes_the_empty_folders_it_made_and_only_those(tmp_path):
    with claim(tmp_path / "new" / "a" / "b"):
        assert (tmp_path / "new" / "a").is_dir()
    assert not (tmp_path / "new").exists()  # a refused command leaves no empty saved_models/
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError), claim(tmp_path / "kept" / "a" / "b"):
        raise RuntimeError("a failed run")
    assert sorted(os.listdir(tmp_path)) == ["kept"] and not os.listdir(tmp_path / "kept")
    with atomic_directory(tmp_path / "made" / "out", kind="export") as staging:
        (staging / EXPORT_MARKER).write_text(json.dumps({"task": "letters_4pre1", "rnn_zoo": "0"}))
    assert (tmp_path / "made" / "out" / EXPORT_MARKER).is_file()  # an output keeps its folders
    # Another claim's lock keeps the folder this one made, until that one is released too.
    with claim(tmp_path / "shared" / "first"):
        with claim(tmp_path / "shared" / "second"):
            pass
        assert lock_path(tmp_path / "shared" / "first").is_file()
    assert not (tmp_path / "shared").exists()


@pytest.mark.backend_free
def test_concurrent_claims_in_a_new_folder_all_take_their_lock(tmp_path):
    """Claims that make and remove one new parent folder at once: none finds it gone under it."""
    for attempt in range(20):
        parent, failures, start = tmp_path / f"p{attempt}" / "q", [], threading.Barrier(4)

        def one(i, parent=parent, failures=failures, start=start):
            start.wait()
            try:
                with claim(parent / f"out{i}"):
                    assert lock_path(parent / f"out{i}").is_file()
            except BaseException as e:  # noqa: BLE001 (any failure is the test's)
                failures.append(repr(e))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert not list(parent.glob(".*.lock"))


@pytest.mark.backend_free
def test_a_symlink_out_is_refused_not_replaced(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    links = {"to_empty": empty, "dangling": tmp_path / "nowhere"}
    for name, target in links.items():
        link = tmp_path / name
        link.symlink_to(target)
        for overwrite in (False, True):
            with pytest.raises(OutputExistsError, match="is a symbolic link"):
                check_destination(link, kind="export", overwrite=overwrite)
            with pytest.raises(OutputExistsError, match="is a symbolic link"):
                with atomic_directory(link, kind="export", overwrite=overwrite) as staging:
                    (staging / "x").write_text("x")
        assert link.is_symlink() and os.readlink(link) == str(target)
    assert list(empty.iterdir()) == [] and not (tmp_path / "nowhere").exists()


def test_cli_refuses_a_symlink_out(tmp_path, capsys):
    from rnn_zoo.cli import main

    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    for argv in (["export", "letters_4pre1"], ["train", "letters_4pre1", "--epochs", "1"]):
        code = main([*argv, "--out", str(link)])
        _, err = capsys.readouterr()
        assert code == 2 and err.count("\n") == 1 and f"{link} is a symbolic link" in err, err
        assert link.is_symlink() and not (tmp_path / "nowhere").exists()


def _in_a_small_filesystem(tmp_path: Path, size: str, script: str) -> subprocess.CompletedProcess:
    """`script` run by Python in a private mount namespace where `tmp_path/small` is a tmpfs
    of `size`: a real full disk. Skipped where unprivileged namespaces are not allowed."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    small = tmp_path / "small"
    small.mkdir()
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not allowed here: no small filesystem to fill")
    shell = f'mount -t tmpfs -o size={size} tmpfs "$1" && cd "$1" && shift && exec "$@"'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", shell, "sh", str(small), sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.backend_free
def test_a_full_disk_is_one_line_naming_the_folder_and_the_previous_output_stays(tmp_path):
    script = textwrap.dedent(
        """
        import os
        from pathlib import Path
        from rnn_zoo.errors import OutputWriteError
        from rnn_zoo.outputs import atomic_directory
        out = Path("out")
        with atomic_directory(out, kind="export") as staging:
            (staging / "rnn_zoo_export.json").write_text('{"task": "letters_4pre1", "rnn_zoo": "0"}')
            (staging / "model.bin").write_bytes(b"first" * 1000)
        try:
            with atomic_directory(out, kind="export") as staging:
                (staging / "model.bin").write_bytes(b"x" * 4_000_000)  # more than the disk holds
        except OutputWriteError as e:
            print("ERROR", e)
        print("KEPT", (out / "model.bin").read_bytes() == b"first" * 1000)
        print("LEFT", sorted(os.listdir(".")))
        """
    )
    done = _in_a_small_filesystem(tmp_path, "1m", script)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert (
        lines["ERROR"]
        == "the disk is full while writing out; the previous output is intact (free some space and write again)"
    )
    assert lines["KEPT"] == "True" and lines["LEFT"] == "['out']"  # no staging folder, no lock file


@pytest.mark.slow
def test_cli_export_onto_a_full_disk_is_one_line_exit_2(tmp_path):
    script = textwrap.dedent(
        """
        import os, sys
        from rnn_zoo.cli import main
        print("FIRST", main(["export", "letters_4pre1", "--out", "out"]), flush=True)
        with open("filler", "wb") as f:  # the disk nearly full, as a user's is
            try:
                f.write(b"0" * (8 << 20))
            except OSError:
                pass
        sys.stdout.flush()
        print("SECOND", main(["export", "letters_4pre1", "--out", "out"]), flush=True)
        print("LEFT", sorted(p for p in os.listdir(".") if p != "filler"))
        print("MODEL", os.path.isfile("out/saved_model.pb"))
        """
    )
    done = _in_a_small_filesystem(tmp_path, "3m", script)
    assert done.returncode == 0, done.stderr
    assert "FIRST 0" in done.stdout and "SECOND 2" in done.stdout, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("rnn-zoo: error:")]
    assert errors == [
        "rnn-zoo: error: the disk is full while writing out; the previous output is intact (free some space and write again)"
    ], done.stderr
    assert "LEFT ['out']" in done.stdout and "MODEL True" in done.stdout


@pytest.mark.slow
def test_a_train_claims_its_out_from_the_start_and_an_export_there_is_refused(tmp_path, capsys):
    from rnn_zoo.cli import main

    out = tmp_path / "run"
    train = subprocess.Popen(
        [sys.executable, "-m", "rnn_zoo", "train", "letters_4pre1", "--out", str(out), "--epochs", "400"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while not lock_path(out).exists() and train.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_path(out).exists(), "the train never claimed its folder"
    code = main(["export", "letters_4pre1", "--out", str(out)])
    _, err = capsys.readouterr()
    still_training = train.poll() is None
    stdout, stderr = train.communicate(timeout=300)
    assert still_training, "training ended before the export was tried: make it longer"
    assert (
        code == 2
        and err
        == f"rnn-zoo: error: {out} is being written by process {train.pid}; wait for it to finish, or choose another folder\n"
    )
    assert train.returncode == 0, stderr
    assert json.loads((out / "metadata.json").read_text())["task"] == "letters_4pre1"  # the training's result
    assert not lock_path(out).exists()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from rnn_zoo.outputs import claim
    with claim(sys.argv[1]):
        print("held", flush=True)
        time.sleep(120)
    """
)


@pytest.mark.parametrize("format_name", ["saved_model", "onnx"])
def test_an_export_to_a_folder_another_process_holds_is_refused_at_once(format_name, tmp_path):
    import rnn_zoo

    if format_name == "onnx":
        pytest.importorskip("onnxruntime")
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline() == "held\n"
        start = time.monotonic()
        with pytest.raises(OutputBusyError, match=rf"is being written by process {holder.pid}"):
            rnn_zoo.export(rnn_zoo.load_preset("letters_4pre1"), out, format=format_name)
        assert time.monotonic() - start < 30  # before the conversion and its check
    finally:
        holder.kill()
        holder.wait()
    assert not out.exists()
