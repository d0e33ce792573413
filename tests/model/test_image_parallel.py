"""Inference batches split by image across threads give the whole batch's results."""

from __future__ import annotations

import threading

import pytest
import torch

from tsfgui.model import TSFmicro, TSFmicroConfig, fast_kernels, image_parallel
from tsfgui.model.image_parallel import split_across_threads


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_a_batch_split_across_threads_gives_the_whole_batch_results(two_threads, make_pair):
    model = TSFmicro(TSFmicroConfig.tiny()).eval().fuse()
    onset, apex = make_pair(5, 32)
    seen: list[tuple[str, int, int]] = []
    model.temporal.register_forward_hook(
        lambda m, args, out: seen.append((threading.current_thread().name, torch.get_num_threads(), out.shape[0])))
    with torch.inference_mode():
        with fast_kernels(False):
            plain = model(onset, apex)
            plain_shared = model(onset[:1], apex)
        seen.clear()
        split = model(onset, apex)
        assert sorted(seen) == [("tsfgui-images-0", 1, 3), ("tsfgui-images-1", 1, 2)]  # one thread each
        assert torch.get_num_threads() == 2  # restored
        ref = model.embed_reference(onset)
        with_ref = model(onset, apex, reference=ref)
        shared = model(onset[:1], apex, reference=ref[:1])
        shared_onset = model(onset[:1], apex)
        image_parallel._ENABLED = False
        try:
            seen.clear()
            whole = model(onset, apex)
            assert seen == [(threading.current_thread().name, 2, 5)]
        finally:
            image_parallel._ENABLED = True
    for got in (split, with_ref, whole):
        torch.testing.assert_close(got, plain, rtol=1e-5, atol=1e-6)
    for got in (shared, shared_onset):
        torch.testing.assert_close(got, plain_shared, rtol=1e-5, atol=1e-6)


def test_a_bad_reference_is_refused_before_any_thread_starts(two_threads, make_pair):
    model = TSFmicro(TSFmicroConfig.tiny()).eval()
    onset, apex = make_pair(4, 32)
    with torch.inference_mode():
        ref = model.embed_reference(onset[:3])
        with pytest.raises(ValueError, match="reference must be"):
            model(onset, apex, reference=ref)
    assert torch.get_num_threads() == 2


def test_an_error_in_one_share_reaches_the_caller_and_the_threads_are_restored(two_threads):
    def fn(images: slice) -> torch.Tensor:
        if images.start > 0:
            raise RuntimeError("share failed")
        return torch.zeros(images.stop - images.start)

    with torch.no_grad(), pytest.raises(RuntimeError, match="share failed"):
        split_across_threads(fn, 4, torch.device("cpu"))
    assert torch.get_num_threads() == 2
    with torch.no_grad():
        assert split_across_threads(lambda s: torch.arange(s.start, s.stop), 5, torch.device("cpu")).tolist() == [0, 1, 2, 3, 4]
    # where it does not apply nothing runs: gradients recorded, fewer images than threads, one thread
    assert split_across_threads(fn, 4, torch.device("cpu")) is None
    with torch.no_grad():
        assert split_across_threads(fn, 1, torch.device("cpu")) is None
        torch.set_num_threads(1)
        assert split_across_threads(fn, 4, torch.device("cpu")) is None


def test_two_callers_at_once_both_get_their_results(two_threads, make_pair):
    model = TSFmicro(TSFmicroConfig.tiny()).eval().fuse()
    pairs = [make_pair(4, 32, seed=s) for s in (1, 2)]
    with torch.inference_mode(), fast_kernels(False):
        want = [model(o, a) for o, a in pairs]
    got: list[torch.Tensor | None] = [None, None]

    def call(i: int) -> None:
        with torch.inference_mode():
            for _ in range(3):
                got[i] = model(*pairs[i])

    callers = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for c in callers:
        c.start()
    for c in callers:
        c.join()
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("threads", [1, 2])
def test_a_batchnorm_in_training_mode_sees_the_whole_batch(threads, monkeypatch, make_pair):
    """An evaluated model whose BatchNorms were put back in training mode (to read or re-estimate their
    statistics) is neither split by image nor chunked: each BatchNorm sees the whole batch once."""
    from tsfgui.model import retention

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    monkeypatch.setattr(retention, "_TEMPORAL_CHUNK_THREADS", threads)
    try:
        model = TSFmicro(TSFmicroConfig.tiny()).eval()
        norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        for m in norms:
            m.train()
        sizes: list[int] = []
        for m in norms:
            m.register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
        onset, apex = make_pair(5, 32)
        with torch.no_grad():
            model(onset, apex)
    finally:
        torch.set_num_threads(before)
    # once each, on all 5 images (the head's BatchNorm1d on their 5 × 2 × 2 positions)
    assert sizes == [5 if isinstance(m, torch.nn.BatchNorm2d) else 5 * 2 * 2 for m in norms]
