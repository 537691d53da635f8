from tests.pipeline_clock import driven_clock

__all__ = ["driven_clock"]
