"""The terminal driver of the console: Textual's Linux driver with input reading that cannot be killed by the bytes
typed, and that ends the console when the terminal goes away.

Two upstream problems in Textual 8.2's `LinuxDriver.run_input_thread`, worked around here rather than by forking
Textual (drop this module when both are fixed upstream):

- Input is decoded with a strict UTF-8 decoder, so one byte that is not UTF-8 (0xFF, or Chinese typed in a GBK
  terminal) raises UnicodeDecodeError in the input thread, which panics the app: the console dies and the reply
  being typed is lost (Textualize/textual#6456). Here input is decoded with the locale's encoding (UTF-8 almost
  always) and errors="replace": a bad byte becomes U+FFFD and nothing raises.
- At end of input (the terminal is gone: the read returns nothing, or EIO once a pty's other side has closed) the
  loop keeps selecting a readable descriptor and spins at a full core for ever (Textualize/textual#6690). Here the
  first end of input ends the console instead. A hang-up signal (SSH disconnect) ends it the same way, cleanly,
  so the composer's draft is saved on the way out.
"""

from __future__ import annotations

import asyncio
import codecs
import errno
import locale
import os
import selectors
import signal
from typing import Any

from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

READ_SIZE = 4096


def input_encoding() -> str:
    """The encoding the terminal types in: the locale's (UTF-8 unless the terminal is set up otherwise, e.g. GBK),
    UTF-8 when the locale names nothing Python knows."""
    name = locale.getpreferredencoding(False) or "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


class HelpdeskDriver(LinuxDriver):
    """`LinuxDriver` whose input thread never raises on the bytes it reads and stops at end of input."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._terminal_gone = False
        self._hang_up_loop: asyncio.AbstractEventLoop | None = None

    def start_application_mode(self) -> None:
        super().start_application_mode()
        # A hang-up (the SSH session dropped) ends the console as a quit would, drafts saved; unless the user chose
        # to ignore hang-ups (nohup), which is then respected (end of input still ends it).
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
            loop = asyncio.get_running_loop()
            try:
                loop.add_signal_handler(signal.SIGHUP, self._hang_up)
                self._hang_up_loop = loop
            except (RuntimeError, ValueError):  # not the main thread: the default (the process ends) stays
                pass

    def stop_application_mode(self) -> None:
        if self._hang_up_loop is not None:
            self._hang_up_loop.remove_signal_handler(signal.SIGHUP)
            self._hang_up_loop = None
        super().stop_application_mode()

    def write(self, data: str) -> None:
        if not self._terminal_gone:  # nobody to draw for; the writer thread would fail on every frame
            super().write(data)

    def _hang_up(self) -> None:
        self._terminal_gone = True
        self._app.exit()

    def run_input_thread(self) -> None:
        """Textual's input loop, but for the decoder and the end of input (see the module's docstring)."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decoder = codecs.getincrementaldecoder(input_encoding())(errors="replace")

        def read_and_feed(timeout: float) -> bool:
            """Read what is there and pass it on; False at end of input."""
            if selector.select(timeout):
                try:
                    data = os.read(self.fileno, READ_SIZE)
                except OSError as exc:
                    if exc.errno not in (errno.EIO, errno.EBADF):
                        raise
                    data = b""  # EIO: the pty's other side has closed
                for event in parser.feed(decoder.decode(data, final=not data)):
                    self.process_message(event)
                if not data:
                    return False
            for event in parser.tick():
                self.process_message(event)
            return True

        try:
            while not self.exit_event.is_set():
                if not read_and_feed(0.1):
                    self._terminal_gone = True
                    self._app.call_later(self._app.exit)
                    return
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):  # ends the parser, as Textual does
                    pass
            except (EOFError, ParseError):
                pass
