"""OneDrive calls transformers with the current argument names: no deprecation notice on any entry point."""

import logging
import warnings

import pytest
import transformers
from model_helpers import load_onedrive, make_batch


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def transformers_log():
    """Messages of transformers' loggers (``warning_once`` included) while the test runs."""
    handler = Collect()
    logger = transformers.logging.get_logger()  # the library's root logger
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def test_forward_predict_generate_use_no_deprecated_argument(internvl_dir, transformers_log):
    model = load_onedrive(internvl_dir)
    batch = make_batch()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model(**batch)
        model.predict(batch)
        model.generate(batch, max_new_tokens=3)
    notices = [str(w.message) for w in caught if issubclass(w.category, (FutureWarning, DeprecationWarning))]
    notices += [message for message in transformers_log if "deprecat" in message.lower()]
    assert not notices, notices
