"""Weight lookup and the ways a checkpoint can be wrong, each ending in one clear error."""

from __future__ import annotations

import shutil

import pytest
import torch

from vbg.errors import VbgError
from vbg.model.u2net import U2NET, U2NETP
from vbg.model.weights import MODELS, find_weights, load_checked, resolve_weights


def test_official_keys_load_strict(weights_path):
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model = U2NETP()
    assert list(model.state_dict()) == list(state)  # same 798 keys, same order
    model.load_state_dict(state, strict=True)


def test_u2net_architecture_matches_official_size():
    params = sum(p.numel() for p in U2NET().parameters())
    assert len(U2NET().state_dict()) == 798 and 44.0e6 < params < 44.1e6  # the 176.3 MB checkpoint


def test_lookup_order(tmp_path, weights_path, monkeypatch):
    spec = MODELS["u2net_lite"]
    env_dir, cache = tmp_path / "env", tmp_path / "cache"
    (cache / "weights").mkdir(parents=True)
    env_dir.mkdir()
    shutil.copy(weights_path, cache / "weights" / "u2netp.pth")
    monkeypatch.delenv("VBG_WEIGHTS_DIR", raising=False)
    assert find_weights(spec, cache=cache) == cache / "weights" / "u2netp.pth"
    shutil.copy(weights_path, env_dir / "u2netp.pth")
    monkeypatch.setenv("VBG_WEIGHTS_DIR", str(env_dir))
    assert find_weights(spec, cache=cache) == env_dir / "u2netp.pth"
    assert find_weights(spec, weights_path, cache=cache) == weights_path


def test_missing_explicit_weights(tmp_path):
    with pytest.raises(VbgError, match="does not exist: check the --weights path"):
        find_weights(MODELS["u2net_lite"], tmp_path / "nope.pth")


def test_truncated_checkpoint(tmp_path, weights_path):
    bad = tmp_path / "u2netp.pth"
    bad.write_bytes(weights_path.read_bytes()[: weights_path.stat().st_size // 2])
    with pytest.raises(VbgError, match="truncated or not a PyTorch checkpoint"):
        load_checked(MODELS["u2net_lite"], bad)


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "u2netp.pth"
    bad.write_text("hello")
    with pytest.raises(VbgError, match="truncated or not a PyTorch checkpoint"):
        load_checked(MODELS["u2net_lite"], bad)


def test_wrong_architecture_names_the_right_model(tmp_path):
    path = tmp_path / "u2net.pth"
    torch.save(U2NET().state_dict(), path)
    with pytest.raises(VbgError, match="does not fit the u2net_lite .* use --model u2net"):
        load_checked(MODELS["u2net_lite"], path)


def test_wrong_architecture_other_way(tmp_path, weights_path):
    with pytest.raises(VbgError, match="does not fit the u2net .*look like u2net_lite weights"):
        load_checked(MODELS["u2net"], weights_path)


def test_no_network_download_fails_cleanly_and_leaves_nothing(tmp_path, monkeypatch):
    """A real gdown attempt with the network unreachable (a proxy on a closed local port)."""
    monkeypatch.delenv("VBG_WEIGHTS_DIR", raising=False)
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(VbgError, match=r"^no network to download the u2net_lite weights: copy u2netp.pth .* into "
                                       r".*weights/ or pass --weights PATH$") as info:
        resolve_weights(MODELS["u2net_lite"], cache=tmp_path)
    assert "1rbSTGKAE-MTxBYHd-51l2hMOQPT_7EPy" in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 250  # not the library's cut-off text
    assert list((tmp_path / "weights").iterdir()) == []  # no partial file left behind


def test_download_disabled(tmp_path, monkeypatch):
    monkeypatch.delenv("VBG_WEIGHTS_DIR", raising=False)
    with pytest.raises(VbgError, match="no u2net.pth found"):
        resolve_weights(MODELS["u2net"], cache=tmp_path, download=False)
