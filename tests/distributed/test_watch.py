"""The no-worker timeout setting of Dask runs (fastsam_plugin.distributed.watch), without a cluster."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastsam_plugin.distributed.watch import (DEFAULT_NO_WORKER_TIMEOUT, ENV_NO_WORKER_TIMEOUT,
                                              resolve_no_worker_timeout)
from fastsam_plugin.errors import UsageError


def test_the_timeout_comes_from_the_argument_then_the_environment_then_the_default(monkeypatch):
    monkeypatch.delenv(ENV_NO_WORKER_TIMEOUT, raising=False)
    assert resolve_no_worker_timeout() == DEFAULT_NO_WORKER_TIMEOUT == 60
    monkeypatch.setenv(ENV_NO_WORKER_TIMEOUT, " 7.5 ")
    assert resolve_no_worker_timeout() == 7.5
    assert resolve_no_worker_timeout(3) == 3  # the argument wins
    monkeypatch.setenv(ENV_NO_WORKER_TIMEOUT, "inf")  # wait for ever (jobs queued on an HPC cluster)
    assert resolve_no_worker_timeout() == math.inf
    monkeypatch.setenv(ENV_NO_WORKER_TIMEOUT, "")
    assert resolve_no_worker_timeout() == 60


@pytest.mark.parametrize("text", ["soon", "0", "-5", "nan", "1,5"])
def test_a_bad_environment_value_is_a_usage_error_naming_the_variable(monkeypatch, text):
    monkeypatch.setenv(ENV_NO_WORKER_TIMEOUT, text)
    with pytest.raises(UsageError, match=f"\\${ENV_NO_WORKER_TIMEOUT} must be a number of seconds"):
        resolve_no_worker_timeout()


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_positive_number_is_kept_and_anything_else_refused(value):
    if value > 0:
        assert resolve_no_worker_timeout(value) == value
    else:
        with pytest.raises(UsageError, match="no_worker_timeout must be a number of seconds > 0"):
            resolve_no_worker_timeout(value)
