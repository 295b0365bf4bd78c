"""One writer per folder (folder_lock.py): a second ``synth`` or ``train`` into a folder
another run is writing is refused before it touches anything."""

from __future__ import annotations

import os

import pytest

from cli_run import run
from motionmag.errors import UsageError
from motionmag.folder_lock import exclusive_folder


def test_a_held_folder_is_refused_under_any_spelling_and_free_again_after(tmp_path):
    folder = tmp_path / "runs" / "a"
    other = tmp_path / "runs" / "b"
    what = "motionmag train"
    with exclusive_folder(folder, what):
        again = tmp_path / "runs" / ".." / "runs" / "a"
        pattern = rf"being written by another motionmag train \(process {os.getpid()}\)"
        with pytest.raises(UsageError, match=pattern), exclusive_folder(again, what):
            pass
        with exclusive_folder(other, "motionmag train"):  # another folder: free
            pass
    with exclusive_folder(folder, "motionmag train"):  # released when the block ended
        pass
    assert not folder.exists() and not other.exists()  # the lock lives elsewhere


def test_a_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(RuntimeError), exclusive_folder(tmp_path / "a", "motionmag synth"):
        raise RuntimeError("boom")
    with exclusive_folder(tmp_path / "a", "motionmag synth"):
        pass


def test_synth_and_train_into_a_folder_in_use_are_refused_and_write_nothing(tmp_path, capsys):
    shards, run_dir = tmp_path / "shards", tmp_path / "run"
    with exclusive_folder(shards, "motionmag synth"):
        code, err = run(capsys, "synth", "-o", shards, "--n", 2, "--size", 32, "--quiet")
    assert code == 2 and "is being written by another motionmag synth" in err, err
    assert "wait for it to end, or choose another folder" in err and not shards.exists()
    with exclusive_folder(run_dir, "motionmag train"):
        argv = ["train", "oh2018", "--run", run_dir, "--steps", 1, "--quiet"]
        code, err = run(capsys, *argv)
    assert code == 2 and "is being written by another motionmag train" in err, err
    assert not run_dir.exists()


def test_a_planted_link_is_not_followed_and_no_temporary_directory_is_no_guard(
    tmp_path, monkeypatch
):
    """A lock file planted as a link to another file had that file emptied (the lock
    is opened without following links, in a private folder of this user's); with no
    usable temporary directory, synth and train failed with exit 1 instead of running
    unguarded as documented."""
    import tempfile

    from motionmag.folder_lock import lock_path

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    path = lock_path(tmp_path / "run")
    path.parent.mkdir(mode=0o700)
    path.symlink_to(victim)
    with exclusive_folder(tmp_path / "run", "motionmag train"):  # unguarded, not followed
        pass
    assert victim.read_text() == "precious"

    def no_tempdir():
        raise FileNotFoundError("No usable temporary directory found")

    monkeypatch.setattr(tempfile, "gettempdir", no_tempdir)
    with exclusive_folder(tmp_path / "run", "motionmag train"):
        pass
