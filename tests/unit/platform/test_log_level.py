import io
import json
import logging

import pytest
import structlog

from shared import logs


@pytest.fixture
def configured():
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def configure(level):
        logs.configure("probe", level, stream=stream)
        return stream

    yield configure
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("spelling", ["info", "Info", "INFO", " info "])
def test_log_level_is_read_in_any_case(configured, spelling):
    stream = configured(spelling)
    structlog.get_logger().debug("hidden")
    structlog.get_logger().info("shown")
    logging.getLogger("library").debug("hidden too")

    events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
    assert events == ["shown"]
    assert logging.getLogger().level == logging.INFO


def test_an_unknown_log_level_names_the_setting_and_the_levels(configured):
    with pytest.raises(ValueError, match="LOG_LEVEL 'chatty' is none of DEBUG, INFO"):
        configured("chatty")
