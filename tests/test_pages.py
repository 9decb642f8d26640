"""The command's huge-page hint: off only where the kernel would stall to honour it."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit._pages import NUMPY_HUGEPAGE_ENV, avoid_hugepage_stalls

_multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray


@pytest.fixture
def hint(monkeypatch):
    """numpy's hint as the test leaves it, restored afterwards."""
    # Set first so that monkeypatch restores the variable the function sets.
    monkeypatch.setenv(NUMPY_HUGEPAGE_ENV, "")
    monkeypatch.delenv(NUMPY_HUGEPAGE_ENV)
    before = _multiarray._get_madvise_hugepage()
    _multiarray._set_madvise_hugepage(True)
    yield _multiarray._get_madvise_hugepage
    _multiarray._set_madvise_hugepage(before)


@pytest.mark.parametrize(
    ("policy", "turned_off"),
    [
        ("always defer defer+madvise [madvise] never\n", True),
        ("always defer [defer+madvise] madvise never\n", True),
        ("[always] defer defer+madvise madvise never\n", True),
        ("always [defer] defer+madvise madvise never\n", False),
        ("always defer defer+madvise madvise [never]\n", False),
    ],
)
def test_the_hint_is_off_only_under_a_stalling_defrag_policy(
    tmp_path, monkeypatch, hint, policy, turned_off
):
    import os

    policy_file = tmp_path / "defrag"
    policy_file.write_text(policy)
    assert avoid_hugepage_stalls(policy_file) is turned_off
    assert hint() is not turned_off
    # Worker processes read it when they import numpy.
    assert os.environ.get(NUMPY_HUGEPAGE_ENV) == ("0" if turned_off else None)


def test_a_users_choice_or_a_missing_policy_changes_nothing(tmp_path, monkeypatch, hint):
    policy_file = tmp_path / "defrag"
    policy_file.write_text("always defer defer+madvise [madvise] never\n")
    monkeypatch.setenv(NUMPY_HUGEPAGE_ENV, "1")
    assert avoid_hugepage_stalls(policy_file) is False
    monkeypatch.delenv(NUMPY_HUGEPAGE_ENV)
    assert avoid_hugepage_stalls(tmp_path / "absent") is False
    assert hint() is True
