import os
import time

# Set before transformers is imported anywhere: nothing may download during a test, and
# progress bars and log lines stay out of the output.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest  # noqa: E402
from tiny_gptneo import build  # noqa: E402

import blogneo  # noqa: E402


def pytest_collection_modifyitems(items):
    # Tests of the offline model are marked, so a run can leave them out where its wheel cannot
    # be installed (a GPU machine with no network: `-m "not embedded"`), or run only them.
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "embedded" in getattr(item, "fixturenames", ()) or "embedded" in params.values():
            item.add_marker(pytest.mark.embedded)


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory):
    """A tiny GPT-Neo that recites tiny_gptneo.PARAGRAPHS under greedy decoding."""
    return build(tmp_path_factory.mktemp("tiny-gptneo"))


@pytest.fixture(scope="session")
def random_folder(tmp_path_factory):
    """The same tiny GPT-Neo, untrained: random weights give varied samples for seed tests."""
    return build(tmp_path_factory.mktemp("random-gptneo"), steps=0)


@pytest.fixture(scope="session")
def tiny(tiny_folder):
    return blogneo.load(tiny_folder)


@pytest.fixture(scope="session")
def random_model(random_folder):
    return blogneo.load(random_folder)


@pytest.fixture(scope="session")
def embedded():
    """The real offline model. Converted once per machine into the user cache, then read from it."""
    return blogneo.load("embedded")


@pytest.fixture
def slow_model(random_model):
    """The untrained tiny GPT-Neo, slowed to about 20 ms a step so an interrupt lands mid-run.

    Warmed with one short run first: on a GPU it decodes compiled, and a first compiled run spends
    its first seconds compiling, where no step (and so no interrupt's check) comes.
    """
    original = random_model.model.forward

    def slow(*args, **kwargs):
        time.sleep(0.02)
        return original(*args, **kwargs)

    random_model.model.forward = slow
    blogneo.generate("The old lighthouse", model=random_model, seed=1, max_new_tokens=2)
    yield random_model
    del random_model.model.forward
