"""The shipped weights, their model card, the README, the banner and --selftest say the same thing."""

from __future__ import annotations

from tsfgui.model import load_model, read_metadata
from tsfgui.model.card import describe_weights_file
from tsfgui.resources import DEMO_WEIGHTS, ROOT


def test_card_in_the_weights_is_the_card_in_the_repository_and_states_what_they_are():
    card = (ROOT / "model_weights" / "MODEL_CARD.md").read_text()
    assert read_metadata(DEMO_WEIGHTS).get("model_card") == card
    summary, warning = describe_weights_file(str(DEMO_WEIGHTS))
    assert summary in card and summary in (ROOT / "README.md").read_text()
    model = load_model(DEMO_WEIGHTS)
    assert f"{model.num_parameters():,} parameters" in summary
    assert warning is not None and "demonstration only" in warning.lower()
    assert DEMO_WEIGHTS.stat().st_size < 4_000_000 and read_metadata(DEMO_WEIGHTS)["dtype"] == "float16"
