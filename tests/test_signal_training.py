"""The learned signal retrained from dev gives the shipped one: no test item shaped it. A file of its own, the longest
test there is (it reads every dev item through the embedded model), so that `make test`'s two workers can run it beside
the checker's gates (tests/test_checker_eval.py) instead of after them."""

import pytest

from blogneo import evaluation, signal
from blogneo.evaluation import load_items

pytestmark = pytest.mark.slow


def test_the_learned_signal_is_trained_on_dev_alone_and_reproducibly(embedded, tmp_path):
    # Retraining from dev gives the shipped signal: no test item shaped it. (Float sums differ a little between
    # CPUs, so the weights are compared by the decisions they make on dev, not digit by digit.)
    model = evaluation.reading_model()
    shipped = signal.load()
    retrained = evaluation.train_signal(tmp_path / "signal.json", model=model)
    try:
        assert retrained.revision == shipped.revision == model.revision and retrained.layers == shipped.layers
        assert abs(retrained.threshold - shipped.threshold) < 0.05
        sentences = [s for i in load_items("dev")[::4] for _, s in signal.judged(i.text)]
        agree = [(a > retrained.threshold) == (b > shipped.threshold)
                 for a, b in zip(retrained.scores(sentences, model), shipped.scores(sentences, model), strict=True)]
        assert sum(agree) / len(agree) >= 0.99
    finally:
        signal.load.cache_clear()
    items = evaluation.training_items()
    tested = {i.text for i in load_items("test") + load_items("test", evaluation.NEW_WRITERS)}
    assert items and not {i.text for i in items} & tested
    assert {i.family for i in items} == {"negative", *signal.TRAINED_ON}
