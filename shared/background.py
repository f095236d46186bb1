"""One loop in a managed thread of a nameko extension: the relay, consumers, timers, sagas."""

import eventlet
import structlog
from nameko.exceptions import ContainerBeingKilled

log = structlog.get_logger()


class BackgroundLoop:
    """Mix into a DependencyProvider or Entrypoint. `run_once()` does one turn and returns the
    seconds to wait before the next (0: go on at once); an exception calls `reset()` (drop
    connections) and retries after an exponential backoff. `stop`/`kill` end the loop."""

    idle_interval = 0.05
    max_backoff = 5.0
    _running = False
    _thread = None

    def run_once(self):
        raise NotImplementedError

    def reset(self):
        """Drop whatever a failed turn may have left broken; the next turn reconnects."""

    def start(self):
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._loop)

    def stop(self):
        self._running = False
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.kill()
        self.reset()

    def kill(self):
        self.stop()

    def _loop(self):
        backoff = self.idle_interval
        while self._running:
            try:
                wait = self.run_once()
                backoff = self.idle_interval
            except ContainerBeingKilled:
                return
            except Exception:
                if not self._running:
                    return  # stopping: what failed was torn down under us
                log.exception("background loop failed; starting again", loop=type(self).__name__)
                self.reset()
                wait, backoff = backoff, min(backoff * 2, self.max_backoff)
            if wait:
                eventlet.sleep(wait)
