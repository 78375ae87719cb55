"""Shared by the stand-ins' unit tests: set module attributes (or the Kubernetes version the
stand-ins were built for) for the length of a `with` block."""
import contextlib

import _path  # noqa: F401
import common


@contextlib.contextmanager
def kubernetes(version):
    """Run as the stand-ins built for Kubernetes `version` (the mirror bakes it into build_info)."""
    saved = common.BUILD_INFO
    common.BUILD_INFO = dict(common.build_info(), kubernetesVersion=version)
    try:
        yield
    finally:
        common.BUILD_INFO = saved


@contextlib.contextmanager
def patched(module, **values):
    saved = {k: getattr(module, k) for k in values}
    for k, v in values.items():
        setattr(module, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(module, k, v)
